import { LGraph, LGraphCanvas, LGraphGroup, LiteGraph, type LGraphNode } from '@comfyorg/litegraph';
import { isPortCompatible } from '../../core/wire/portTypes.ts';
import { Api, ApiError } from './api.ts';
import { TesseraNode, formatMs, hooks, registerNodeTypes } from './TesseraNode.ts';
import { buildDocument, jsonEqual, withProvider, withSeed, type NodeSnapshot } from './graphFile.ts';
import { UndoHistory } from './history.ts';
import { roomToGrow, type Box } from './layout.ts';
import { perKTable } from './tableView.ts';
import { openLightbox } from './lightbox.ts';
import { openNodeSearch, type SearchChoice } from './nodeSearch.ts';
import type { ProviderChoice } from './providers.ts';
import type { GraphDocument, Link, NodeDescription, PreviewMessage, RunInfo, ServerMessage, ValidationIssue, WireEvent } from './types.ts';

/** Run status shown in the toolbar (also on `<body data-run-status>` for scripts and tests). */
export type RunPhase = 'idle' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted' | 'invalid';

/** One undo step: the graph file as it would be saved (no viewport) and each node's layout. */
export interface EditState {
  doc: GraphDocument;
  layout: [string, { pos: [number, number]; size?: [number, number]; loadedPos?: [number, number] }][];
}

/** A node type that is not registered on this server: kept (and saved) as it was, shown in red. */
class MissingNode extends TesseraNode {}

/**
 * The visual editor: a litegraph canvas bound to the tessera API. Loads and saves the canonical
 * graph file (layout in its `ui` block), validates as you edit, runs graphs through the server
 * queue and paints the live event stream onto the nodes.
 */
export class Editor {
  readonly api: Api;
  readonly graph: LGraph;
  readonly canvas: LGraphCanvas;
  defs = new Map<string, NodeDescription>();
  /** The document as last loaded or saved: the base for writing the file back. */
  base?: GraphDocument;
  /** `graphs/`-relative path when the graph came from (or was saved to) the workspace. */
  path?: string;
  fileName?: string;
  dirty = false;
  /** The graph's `seed` (the toolbar's seed field): part of the file, so undoable and per graph. */
  seed?: number;
  /**
   * The graph's `provider` (the toolbar's provider select), as the file has it: undefined for
   * none (the run's or process default), a value the editor does not know is kept, not dropped.
   */
  provider?: unknown;
  runId?: string;
  /** Runs this tab queued behind the one on the canvas, oldest first; shown when their turn comes. */
  pending: RunInfo[] = [];
  phase: RunPhase = 'idle';
  issues: ValidationIssue[] = [];
  #loading = 0;
  #validateTimer?: ReturnType<typeof setTimeout>;
  #validateSeq = 0;
  #viewBaseline: { offset: [number, number]; scale: number } = { offset: [0, 0], scale: 1 };
  /** Messages of runs we have not learnt the id of yet (the WebSocket can beat the POST reply). */
  #early = new Map<string, ServerMessage[]>();
  #tick?: ReturnType<typeof setInterval>;
  #runStarted = 0;
  /** Last event `seq` applied for the current run. */
  #lastSeq = -1;
  readonly #listeners = new Set<() => void>();
  readonly #stateListeners = new Set<(state: EditState) => void>();
  #history = new UndoHistory<EditState>({ doc: { format: 'tessera-graph', version: 1, nodes: {} }, layout: [] }, (a, b) => jsonEqual(a, b));
  #commitTimer?: ReturnType<typeof setTimeout>;
  /** The file as last loaded or saved, in editState() form: the working state is dirty when it differs. */
  #saved: GraphDocument = { format: 'tessera-graph', version: 1, nodes: {} };

  constructor(canvasEl: HTMLCanvasElement, api = new Api()) {
    this.api = api;
    // Link rule = the engine's (ANY matches, NUMBER accepts INT, unions); while loading a file
    // every link is kept, so a mistyped link is reported by validation instead of silently lost.
    LiteGraph.isValidConnection = (a: unknown, b: unknown) => this.#loading > 0 || isPortCompatible(String(a ?? 'ANY') || 'ANY', String(b ?? 'ANY') || 'ANY');
    this.graph = new LGraph();
    this.canvas = new LGraphCanvas(canvasEl, this.graph);
    this.canvas.allow_searchbox = true;
    this.canvas.show_info = false;
    this.graph.onNodeAdded = (node) => this.#onNodeAdded(node);
    this.graph.onNodeRemoved = () => this.changed();
    hooks.changed = () => this.changed();
    hooks.enlarge = (node) => {
      const p = node.run?.preview;
      if (!p?.src) return;
      // A list: a gallery of its first elements (their preview files), starting at the one shown.
      const runId = p.runId;
      const items = p.items && p.items.length > 1 ? [p.src, ...p.items.slice(1).map((f) => this.api.fileUrl(runId, f))] : [p.src];
      const size = p.width !== undefined ? ` · ${p.width}×${p.height}` : '';
      openLightbox(items, `${node.title} · ${p.port}${p.count !== undefined ? ` (list of ${p.count}${p.count > items.length ? `, first ${items.length} shown` : ''})` : ''}${size}`);
    };
    hooks.refused = (node, message) => {
      node.refusal = message;
      this.canvas.setDirty(true, false);
      this.onMessage?.(message, 'error');
    };
    this.#linkHelp();
    // Subgraphs are not part of tessera's graph format: litegraph's "Convert to Subgraph" would
    // turn the selection into a node the file cannot hold (and threw, deleting the node).
    const noSubgraph = <T,>(options: T[]): T[] => options.filter((o) => !String((o as { content?: unknown } | null)?.content ?? '').startsWith('Convert to Subgraph'));
    const canvas = this.canvas as unknown as { getNodeMenuOptions(n: LGraphNode): unknown[]; getCanvasMenuOptions(): unknown[] };
    const nodeMenu = canvas.getNodeMenuOptions.bind(this.canvas);
    const canvasMenu = canvas.getCanvasMenuOptions.bind(this.canvas);
    canvas.getNodeMenuOptions = (n) => noSubgraph(nodeMenu(n));
    canvas.getCanvasMenuOptions = () => noSubgraph(canvasMenu());
    hooks.workspaceFiles = async (ext) => {
      try {
        return (await this.api.workspaceFiles(ext?.join(','))).files;
      } catch {
        return [];
      }
    };
  }

  /**
   * Links the canvas cannot make are explained instead of refused silently, and a link dropped on
   * empty canvas opens a search of node types that accept it (then connects the new node).
   */
  #linkHelp(): void {
    type Drop = { canvasX: number; canvasY: number; clientX: number; clientY: number };
    type RenderLink = { node: LGraphNode; fromSlot: { type?: unknown; name?: string }; fromSlotIndex: number };
    const lc = (this.canvas as unknown as { linkConnector: { events: EventTarget; renderLinks: RenderLink[]; state: { connectingTo?: 'input' | 'output' } } }).linkConnector;
    const typeOf = (t: unknown) => String(t ?? 'ANY') || 'ANY';
    lc.events.addEventListener('after-drop-links', (ev) => {
      const { renderLinks, event } = (ev as CustomEvent<{ renderLinks: RenderLink[]; event: Drop }>).detail;
      const first = renderLinks?.[0];
      if (!first) return;
      const toInput = lc.state.connectingTo !== 'output';
      const node = this.graph.getNodeOnPos(event.canvasX, event.canvasY) as TesseraNode | null;
      if (!(node instanceof TesseraNode) || node === first.node) return;
      const from = typeOf(first.fromSlot.type);
      const pos: [number, number] = [event.canvasX, event.canvasY];
      const slot = toInput ? node.getInputOnPos(pos) : node.getOutputOnPos(pos);
      const candidates = slot ? [slot] : ((toInput ? node.inputs : node.outputs) ?? []);
      const fits = candidates.some((s) => (toInput ? isPortCompatible(from, typeOf(s.type)) : isPortCompatible(typeOf(s.type), from)));
      if (fits) return;
      const there = slot ? `${toInput ? 'input' : 'output'} ${String((slot as { tName?: string }).tName ?? slot.name)} (${typeOf(slot.type)})` : `any ${toInput ? 'input' : 'output'} of ${node.title}`;
      this.onMessage?.(toInput ? `cannot link ${from} to ${there}: the types do not match` : `cannot link ${there} to ${from}: the types do not match`, 'error');
    });
    lc.events.addEventListener('dropped-on-canvas', (ev) => {
      const event = (ev as CustomEvent<Drop>).detail;
      const first = lc.renderLinks[0];
      if (!first || !(first.node instanceof TesseraNode)) return;
      const toInput = lc.state.connectingTo !== 'output';
      const type = typeOf(first.fromSlot.type);
      const fromNode = first.node;
      const fromIndex = first.fromSlotIndex;
      const pos: [number, number] = [event.canvasX, event.canvasY];
      const choices: SearchChoice[] = [];
      for (const def of this.defs.values()) {
        if (def.deprecated) continue;
        const ports = toInput ? def.inputs : def.outputs;
        const port = Object.entries(ports).find(([, spec]) => (toInput ? isPortCompatible(type, spec.type) : isPortCompatible(spec.type, type)))?.[0];
        if (port !== undefined) choices.push({ def, port });
      }
      const host = this.canvas.canvas.parentElement ?? document.body;
      openNodeSearch(host, [event.clientX, event.clientY], toInput ? `nodes taking ${type}` : `nodes giving ${type}`, choices, (c) => {
        const node = this.addNode(c.def.type, toInput ? pos : [pos[0] - 200, pos[1]]);
        if (!node) return;
        if (toInput) fromNode.connect(fromIndex, node, node.slotsOf(c.port)[0]!);
        else node.connect(node.outputs.findIndex((o) => (o as unknown as { tName?: string }).tName === c.port), fromNode, fromIndex);
      });
    });
  }

  /** Shows a message to the user (the toolbar's status line). */
  onMessage?: (text: string, kind: 'info' | 'error') => void;

  /** Subscribes to editor state changes (toolbar updates). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }

  /** Fetches node definitions and registers one litegraph type per node type. */
  async init(): Promise<void> {
    const defs = await this.api.nodes();
    // Start from a clean registry: the editor offers tessera's nodes only.
    for (const t of Object.keys(LiteGraph.registered_node_types)) LiteGraph.unregisterNodeType(t);
    registerNodeTypes(defs);
    this.defs = new Map(defs.map((d) => [d.type, d]));
  }

  get nodes(): TesseraNode[] {
    return this.graph.nodes.filter((n): n is TesseraNode => n instanceof TesseraNode);
  }

  nodeById(id: string): TesseraNode | undefined {
    return this.nodes.find((n) => n.tid === id);
  }

  // ---- load ------------------------------------------------------------------------------------

  /** Parses a graph file's text (migrating older versions through the server) and loads it. */
  async loadText(text: string, source: { path?: string; fileName?: string }): Promise<void> {
    let doc: GraphDocument;
    try {
      doc = JSON.parse(text) as GraphDocument;
    } catch (error) {
      throw new Error(`${source.path ?? source.fileName ?? 'file'} is not valid JSON: ${(error as Error).message}`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a tessera graph file (expected a JSON object)');
    if (doc.version !== 1 || Array.isArray(doc.nodes)) {
      const r = await this.api.validate(doc);
      if (r.graph) doc = r.graph;
    }
    if ((doc as { format?: unknown }).format !== 'tessera-graph' || !doc.nodes || typeof doc.nodes !== 'object') throw new Error('not a tessera graph file (missing "format": "tessera-graph" or "nodes")');
    this.load(doc, source);
  }

  /** Shows a graph document on the canvas (a new document: undo history starts over). */
  load(doc: GraphDocument, source: { path?: string; fileName?: string } = {}): void {
    this.#loading++;
    try {
      this.graph.clear();
      this.clearRun();
      // Runs queued for the previous graph keep running on the server (see Runs), not on this canvas.
      this.pending = [];
      this.base = structuredClone(doc);
      this.seed = typeof doc.seed === 'number' ? doc.seed : undefined;
      this.provider = structuredClone(doc.provider);
      this.path = source.path;
      this.fileName = source.fileName ?? source.path?.split('/').pop();
      const placed = this.#populate(doc);
      this.#autoLayout(placed);
      for (const node of this.nodes) node.properties.loadedPos = [node.pos[0], node.pos[1]];
      const vp = doc.ui?.viewport;
      if (vp) {
        if (vp.offset) this.canvas.ds.offset = [vp.offset[0], vp.offset[1]];
        if (vp.scale) this.canvas.ds.scale = vp.scale;
      } else this.fitView();
      this.#viewBaseline = { offset: [this.canvas.ds.offset[0], this.canvas.ds.offset[1]], scale: this.canvas.ds.scale };
    } finally {
      this.#loading--;
    }
    this.dirty = false;
    const state = this.editState();
    this.#saved = state.doc;
    this.#history.reset(state);
    this.canvas.setDirty(true, true);
    this.#notify();
    for (const l of this.#stateListeners) l(state);
    void this.validate();
  }

  /** Creates the nodes, links and groups of a document; returns the nodes it gave no position. */
  #populate(doc: GraphDocument): TesseraNode[] {
    const uiNodes = doc.ui?.nodes ?? {};
    const placed: TesseraNode[] = [];
    for (const [id, n] of Object.entries(doc.nodes)) {
      const node = this.#create(n.type);
      node.tid = id;
      node.title = n.title ?? node.def.title;
      node.applyParams(n.params ?? {});
      if (n.disabled) node.mode = 2; // LGraphEventMode.NEVER
      if (n.provider !== undefined) node.provider = structuredClone(n.provider);
      const ui = uiNodes[id];
      this.graph.add(node);
      if (ui?.pos) node.pos = [ui.pos[0], ui.pos[1]];
      else placed.push(node);
      if (ui?.size) {
        node.setSizeQuietly([ui.size[0], ui.size[1]]);
        node.userSized = true;
      }
      if (ui?.color) node.color = ui.color;
      if (ui?.bgcolor) node.bgcolor = ui.bgcolor;
      if (ui?.collapsed) node.collapse(true);
    }
    for (const [id, n] of Object.entries(doc.nodes)) this.#connectInputs(this.nodeById(id)!, n.inputs ?? {});
    for (const g of doc.ui?.groups ?? []) {
      const group = new LGraphGroup(g.title);
      group.pos = [g.bounding[0], g.bounding[1]];
      group.size = [g.bounding[2], g.bounding[3]];
      if (g.color) group.color = g.color;
      this.graph.add(group);
    }
    return placed;
  }

  // ---- undo / redo -----------------------------------------------------------------------------

  /** The working state: the file as it would be saved (view left out) plus where every node is. */
  editState(): EditState {
    const doc = this.toDocument();
    if (doc.ui) {
      delete doc.ui.viewport;
      if (!Object.keys(doc.ui).length) delete doc.ui;
    }
    const layout: EditState['layout'] = this.nodes.map((n) => {
      const loaded = n.properties.loadedPos as [number, number] | undefined;
      return [n.tid, { pos: [Math.round(n.pos[0]), Math.round(n.pos[1])], ...(n.userSized ? { size: [Math.round(n.size[0]), Math.round(n.size[1])] as [number, number] } : {}), ...(loaded ? { loadedPos: [loaded[0], loaded[1]] as [number, number] } : {}) }];
    });
    // By id: clicking a node brings it to the front (reorders the canvas), which is no edit.
    layout.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { doc, layout };
  }

  /** Records the current state as one undo step if it changed (edits of one gesture coalesce). */
  commit(): void {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    if (this.#loading) return;
    if (this.#history.commit(this.editState())) this.#afterStateChange();
  }

  /** Commits after the current burst of changes (a paste adds nodes and links in one go). */
  scheduleCommit(): void {
    if (this.#loading) return;
    clearTimeout(this.#commitTimer);
    this.#commitTimer = setTimeout(() => this.commit(), 0);
  }

  get canUndo(): boolean {
    return this.#history.canUndo || this.#commitTimer !== undefined;
  }
  get canRedo(): boolean {
    return this.#history.canRedo;
  }

  undo(): boolean {
    this.commit(); // an edit still waiting to be recorded is the step to undo
    const state = this.#history.undo();
    if (state) this.#restore(state);
    return state !== undefined;
  }

  redo(): boolean {
    this.commit();
    const state = this.#history.redo();
    if (state) this.#restore(state);
    return state !== undefined;
  }

  /** Rebuilds the canvas from a state of the history; run overlays of surviving nodes stay. */
  restoreState(state: EditState): void {
    this.#history.commit(state);
    this.#restore(state);
  }

  #restore(state: EditState): void {
    const runs = new Map(this.nodes.map((n) => [n.tid, n.run] as const));
    this.#loading++;
    try {
      this.canvas.deselectAll?.();
      this.graph.clear();
      this.seed = typeof state.doc.seed === 'number' ? state.doc.seed : undefined;
      this.provider = structuredClone(state.doc.provider);
      this.#populate(state.doc);
      const layout = new Map(state.layout);
      for (const node of this.nodes) {
        const l = layout.get(node.tid);
        if (l) {
          node.pos = [l.pos[0], l.pos[1]];
          if (l.size) {
            node.setSizeQuietly([l.size[0], l.size[1]]);
            node.userSized = true;
          }
          if (l.loadedPos) node.properties.loadedPos = [l.loadedPos[0], l.loadedPos[1]];
        }
        const run = runs.get(node.tid);
        if (run) {
          node.run = run;
          if (run.preview || run.table) this.#fitPreview(node);
        }
      }
    } finally {
      this.#loading--;
    }
    this.#afterStateChange();
    this.canvas.setDirty(true, true);
    clearTimeout(this.#validateTimer);
    this.#validateTimer = setTimeout(() => void this.validate(), 300);
  }

  #afterStateChange(): void {
    this.dirty = !jsonEqual(this.#history.current.doc, this.#saved);
    this.#notify();
    for (const l of this.#stateListeners) l(this.#history.current);
  }

  /** Called with every new working state (autosave). */
  onStateChange(listener: (state: EditState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  #create(type: string): TesseraNode {
    if (this.defs.has(type)) return LiteGraph.createNode(type) as unknown as TesseraNode;
    // Unknown type: a stand-in with no ports; the file's node is written back untouched.
    const node = new MissingNode(`missing: ${type}`);
    node.setup({ type, title: `missing: ${type}`, category: 'missing', description: `node type "${type}" is not registered on this server`, version: '0', plugin: '', inputs: {}, outputs: {}, params: { type: 'object' }, output: false, cache: 'never', deprecated: false, experimental: false });
    node.color = '#722';
    return node;
  }

  #connectInputs(node: TesseraNode, inputs: Record<string, Link | Link[]>): void {
    const unresolved: Record<string, Link[]> = {};
    for (const [name, value] of Object.entries(inputs)) {
      const links = Array.isArray(value) ? value : [value];
      const spec = node.def.inputs[name];
      if (spec?.list) node.ensureListSlots(name, links.length);
      links.forEach((link, k) => {
        const src = this.nodeById(link?.node);
        const outIndex = src?.outputs?.findIndex((o) => (o as unknown as { tName?: string }).tName === link.output) ?? -1;
        const slots = node.slotsOf(name);
        const target = spec?.list ? slots[k] : slots[0];
        if (!src || outIndex < 0 || target === undefined || !src.connect(outIndex, node, target)) (unresolved[name] ??= []).push(link);
      });
      if (spec?.list) node.ensureListSlots(name);
    }
    // Links the canvas cannot draw (missing node/port): kept so saving loses nothing.
    if (Object.keys(unresolved).length) node.properties.unresolved = unresolved;
  }

  /** Places nodes without a saved position in columns by dependency depth. */
  #autoLayout(nodes: TesseraNode[]): void {
    if (!nodes.length) return;
    const depth = new Map<TesseraNode, number>();
    const depthOf = (n: TesseraNode, seen = new Set<TesseraNode>()): number => {
      if (depth.has(n)) return depth.get(n)!;
      if (seen.has(n)) return 0;
      seen.add(n);
      let d = 0;
      for (const input of n.inputs ?? []) {
        if (input.link == null) continue;
        const link = this.graph.links.get(input.link);
        const src = link ? (this.graph.getNodeById(link.origin_id) as TesseraNode | null) : null;
        if (src) d = Math.max(d, depthOf(src, seen) + 1);
      }
      depth.set(n, d);
      return d;
    };
    let maxX = 0;
    for (const n of this.nodes) if (!nodes.includes(n)) maxX = Math.max(maxX, n.pos[0] + n.size[0] + 60);
    // Columns by depth, each as wide as its widest node; rows leave room for the text under nodes.
    const columns = new Map<number, TesseraNode[]>();
    for (const n of nodes) columns.set(depthOf(n), [...(columns.get(depthOf(n)) ?? []), n]);
    let x = maxX + 40;
    for (const d of [...columns.keys()].sort((a, b) => a - b)) {
      const column = columns.get(d)!;
      let y = 60;
      for (const n of column) {
        n.pos = [x, y + LiteGraph.NODE_TITLE_HEIGHT];
        y += n.size[1] + LiteGraph.NODE_TITLE_HEIGHT + 70;
      }
      x += Math.max(...column.map((n) => n.size[0])) + 80;
    }
  }

  /** Lays every node out again in dependency columns (the Arrange button); a layout edit like any other. */
  arrange(): void {
    this.#autoLayout(this.nodes);
    this.fitView();
    this.changed();
  }

  /** Zooms and pans so every node is visible. */
  fitView(): void {
    const nodes = this.nodes;
    const el = this.canvas.canvas;
    if (!nodes.length || !el.clientWidth) {
      this.canvas.ds.offset = [0, 0];
      this.canvas.ds.scale = 1;
      return;
    }
    const minX = Math.min(...nodes.map((n) => n.pos[0]));
    const minY = Math.min(...nodes.map((n) => n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT));
    const maxX = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
    const maxY = Math.max(...nodes.map((n) => n.pos[1] + n.size[1] + 40));
    const scale = Math.min(1.2, Math.max(0.25, Math.min(el.clientWidth / (maxX - minX + 80), el.clientHeight / (maxY - minY + 80))));
    this.canvas.ds.scale = scale;
    this.canvas.ds.offset = [(el.clientWidth / scale - (maxX - minX)) / 2 - minX, (el.clientHeight / scale - (maxY - minY)) / 2 - minY];
    this.canvas.setDirty(true, true);
  }

  #onNodeAdded(node: LGraphNode): void {
    if (!(node instanceof TesseraNode)) return;
    if (this.#loading) return;
    // New or pasted node: give it a fresh, readable id unless its own is still free.
    const taken = new Set(this.nodes.filter((n) => n !== node).map((n) => n.tid));
    if (!node.tid || taken.has(node.tid)) {
      const stem = (node.def.type.split('/').pop() ?? 'node').replace(/[^A-Za-z0-9]/g, '').replace(/^./, (c) => c.toLowerCase()) || 'node';
      let i = 1;
      while (taken.has(i === 1 ? stem : `${stem}${i}`)) i++;
      node.tid = i === 1 ? stem : `${stem}${i}`;
    }
    // A pasted copy is a new node: no load-time position, no links of the original's file.
    delete node.properties.loadedPos;
    delete node.properties.unresolved;
    this.changed();
  }

  // ---- save ------------------------------------------------------------------------------------

  /** The canonical graph file for what is on the canvas. */
  toDocument(): GraphDocument {
    const snapshots: NodeSnapshot[] = this.nodes.map((node) => {
      const inputs: Record<string, Link[]> = {};
      for (const name of Object.keys(node.def.inputs)) {
        for (const i of node.slotsOf(name)) {
          const id = node.inputs[i]!.link;
          if (id == null) continue;
          const link = this.graph.links.get(id);
          const src = link ? (this.graph.getNodeById(link.origin_id) as TesseraNode | null) : null;
          const out = src?.outputs?.[link!.origin_slot] as unknown as { tName?: string } | undefined;
          if (src && out?.tName) (inputs[name] ??= []).push({ node: src.tid, output: out.tName });
        }
      }
      const unresolved = (node.properties.unresolved ?? {}) as Record<string, Link[]>;
      for (const [name, links] of Object.entries(unresolved)) inputs[name] = [...(inputs[name] ?? []), ...links];
      const origin = this.base?.nodes[node.tid] && this.base.nodes[node.tid]!.type === node.def.type ? { node: this.base.nodes[node.tid]!, ...(this.base.ui?.nodes?.[node.tid] ? { ui: this.base.ui.nodes[node.tid] } : {}) } : undefined;
      const loadedPos = node.properties.loadedPos as [number, number] | undefined;
      const listInputs = new Set(Object.entries(node.def.inputs).filter(([, s]) => s.list).map(([k]) => k));
      if (node instanceof MissingNode && origin) for (const [k, v] of Object.entries(origin.node.inputs ?? {})) if (Array.isArray(v)) listInputs.add(k);
      return {
        id: node.tid,
        type: node.def.type,
        title: node.title,
        defaultTitle: node.def.title,
        params: node instanceof MissingNode && origin ? structuredClone(origin.node.params ?? {}) : node.params,
        inputs,
        listInputs,
        disabled: node.mode === 2,
        ...(node.provider !== undefined ? { provider: node.provider } : {}),
        pos: [node.pos[0], node.pos[1]],
        size: [node.size[0], node.size[1]],
        sized: node.userSized,
        moved: !loadedPos || Math.round(loadedPos[0]) !== Math.round(node.pos[0]) || Math.round(loadedPos[1]) !== Math.round(node.pos[1]),
        collapsed: Boolean(node.flags.collapsed),
        ...(node.color && !(node instanceof MissingNode) ? { color: node.color } : {}),
        ...(node.bgcolor ? { bgcolor: node.bgcolor } : {}),
        ...(origin ? { origin } : {}),
      };
    });
    const ds = this.canvas.ds;
    const changed = Math.abs(ds.scale - this.#viewBaseline.scale) > 1e-6 || Math.abs(ds.offset[0] - this.#viewBaseline.offset[0]) > 0.5 || Math.abs(ds.offset[1] - this.#viewBaseline.offset[1]) > 0.5;
    const groups = this.graph.groups.map((g) => ({ title: g.title, bounding: [Math.round(g.pos[0]), Math.round(g.pos[1]), Math.round(g.size[0]), Math.round(g.size[1])] as [number, number, number, number], ...(g.color ? { color: g.color } : {}) }));
    return withProvider(withSeed(buildDocument(this.base, snapshots, { offset: [ds.offset[0], ds.offset[1]], scale: ds.scale, changed, ...(groups.length || this.base?.ui?.groups ? { groups } : {}) }), this.seed), this.provider);
  }

  /** Saves into the workspace's graphs/ folder (PUT /api/graphs/…). */
  async save(path = this.path): Promise<string> {
    if (!path) throw new Error('no file name: use "Save as…"');
    const doc = this.toDocument();
    const r = await this.api.saveGraph(path, doc);
    this.base = structuredClone(doc);
    this.path = path;
    this.fileName = path.split('/').pop();
    // The saved layout is the new baseline: later saves compare against it.
    for (const node of this.nodes) node.properties.loadedPos = [node.pos[0], node.pos[1]];
    this.dirty = false;
    const state = this.editState();
    this.#saved = state.doc;
    this.#history.commit(state);
    this.#notify();
    for (const l of this.#stateListeners) l(this.#history.current);
    return r.path;
  }

  /** Sets the graph's seed (undefined: none, the engine uses 0); an edit like any other. */
  setSeed(seed: number | undefined): void {
    if (seed === this.seed) return;
    this.seed = seed;
    this.changed();
  }

  /**
   * Sets the graph's default execution provider (undefined: none, the run's or process default
   * applies); written to the file only when set, an undoable edit like the seed.
   */
  setProvider(provider: ProviderChoice | undefined): void {
    if (provider === this.provider) return;
    this.provider = provider;
    this.changed();
  }

  /** Marks the graph modified and schedules a validation. */
  changed(): void {
    if (this.#loading) return;
    this.dirty = true;
    this.canvas.setDirty(true, true);
    clearTimeout(this.#validateTimer);
    this.#validateTimer = setTimeout(() => void this.validate(), 300);
    this.scheduleCommit();
    this.#notify();
  }

  // ---- validate --------------------------------------------------------------------------------

  /** Asks the server for every problem and shows each on its node. Returns the issues. */
  async validate(): Promise<ValidationIssue[]> {
    const seq = ++this.#validateSeq;
    let issues: ValidationIssue[];
    try {
      issues = (await this.api.validate(this.toDocument())).issues;
    } catch (error) {
      issues = [{ code: 'request', pointer: '', message: `validation request failed: ${(error as Error).message}` }];
    }
    if (seq !== this.#validateSeq) return issues; // a newer validation superseded this one
    this.showIssues(issues);
    return issues;
  }

  showIssues(issues: ValidationIssue[]): void {
    this.issues = issues;
    for (const node of this.nodes) node.issues = issues.filter((i) => i.nodeId === node.tid);
    this.canvas.setDirty(true, true);
    this.#notify();
  }

  /** Problems not attached to a node on the canvas (shown in the banner). */
  get graphIssues(): ValidationIssue[] {
    const ids = new Set(this.nodes.map((n) => n.tid));
    return this.issues.filter((i) => i.nodeId === undefined || !ids.has(i.nodeId));
  }

  // ---- run -------------------------------------------------------------------------------------

  /** Validates, then queues a run; invalid graphs are not sent (their problems are shown). */
  async run(options: { seed?: number } = {}): Promise<RunInfo | undefined> {
    const local = this.nodes.flatMap((n) => n.localIssues().map((m) => ({ code: 'invalid_params', pointer: `/nodes/${n.tid}/params`, message: m, nodeId: n.tid })));
    if (local.length) {
      this.showIssues(local);
      this.#setPhase('invalid');
      return undefined;
    }
    const doc = this.toDocument();
    const label = this.path ?? this.fileName;
    if (this.busy) {
      // One is on the canvas already: this one waits in the server queue and takes the canvas
      // when its turn comes (#advance).
      const { run } = await this.api.run(doc, { ...options, ...(label ? { label } : {}) }).catch((error: unknown) => {
        if (error instanceof ApiError && error.body.error === 'invalid_graph') this.showIssues(error.body.issues ?? []);
        throw error;
      });
      this.pending.push(run);
      this.onMessage?.(`queued another run (${this.pending.length} waiting in this tab)`, 'info');
      this.#notify();
      return run;
    }
    this.clearRun();
    this.#setPhase('queued');
    try {
      const { run } = await this.api.run(doc, { ...options, ...(this.path ? { label: this.path } : this.fileName ? { label: this.fileName } : {}) });
      this.runId = run.id;
      this.showIssues([]);
      for (const node of this.nodes) if (node.mode !== 2) node.run = { state: 'queued' };
      this.#runStarted = performance.now();
      this.#tick = setInterval(() => this.canvas.setDirty(true, false), 250);
      for (const m of this.#early.get(run.id) ?? []) this.handle(m);
      this.#early.clear();
      this.#notify();
      return run;
    } catch (error) {
      if (error instanceof ApiError && error.body.error === 'invalid_graph') {
        this.showIssues(error.body.issues ?? []);
        this.#setPhase('invalid');
        return undefined;
      }
      this.#setPhase('failed', (error as Error).message);
      throw error;
    }
  }

  /** Whether a run is on the canvas and not finished. */
  get busy(): boolean {
    return this.phase === 'queued' || this.phase === 'running';
  }

  /** Cancels the run on the canvas, or the run with this id (a queued one). */
  async cancel(runId = this.runId): Promise<void> {
    if (!runId) return;
    await this.api.cancel(runId).catch(() => undefined);
    const i = this.pending.findIndex((r) => r.id === runId);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.#notify();
    }
  }

  /**
   * Reopens a past (or running) run: its graph as run (`graph.json` of its record) on the canvas,
   * and its outcome on the nodes — states and times replayed from its events, tables and output
   * text, image previews from the preview files it wrote. A run still going is followed live.
   */
  async openRun(run: RunInfo): Promise<void> {
    const text = await this.api.runFileText(run.id, 'graph.json');
    const name = run.label ?? run.graphName ?? run.id;
    await this.loadText(text, { fileName: name.endsWith('.json') ? name : `${name}.json` });
    this.runId = run.id;
    this.#runStarted = performance.now();
    if (run.status === 'queued' || run.status === 'running') {
      for (const node of this.nodes) if (node.mode !== 2) node.run = { state: 'queued' };
      this.#tick = setInterval(() => this.canvas.setDirty(true, false), 250);
      this.#setPhase(run.status);
      await this.catchUp();
      return;
    }
    // Both fetched first, then applied in one go: the canvas never shows a half-replayed run.
    const [{ events }, { files }] = await Promise.all([
      this.api.request<{ events: WireEvent[] }>('GET', `/api/runs/${encodeURIComponent(run.id)}/events?since=0`),
      this.api.runFiles(run.id).catch(() => ({ files: [] as { path: string }[] })),
    ]);
    for (const event of events) {
      this.#lastSeq = Math.max(this.#lastSeq, event.seq);
      this.#onEvent(event);
    }
    const paths = files.map((f) => f.path);
    for (const path of paths) {
      const m = /^previews\/([^/]+)\/([^/]+)\.png$/.exec(path);
      if (!m || !this.nodeById(m[1]!)) continue;
      // A list's elements were written next to it, as <port>/<i>.png.
      const items = paths.map((p) => [p, new RegExp(`^previews/${escapeRegExp(m[1]!)}/${escapeRegExp(m[2]!)}/(\\d+)\\.png$`).exec(p)?.[1]] as const).filter(([, i]) => i !== undefined).sort((a, b) => Number(a[1]) - Number(b[1])).map(([p]) => p);
      this.#onPreview({ type: 'preview', runId: run.id, nodeId: m[1]!, port: m[2]!, kind: 'image', src: this.api.fileUrl(run.id, path), file: path, ...(items.length > 1 ? { items, count: items.length } : {}) });
    }
    // Nodes the record leaves half-way never finished: the run was cut (killed, cancelled).
    for (const n of this.nodes) if (n.run && (n.run.state === 'queued' || n.run.state === 'running')) n.run = { ...n.run, state: 'skipped', message: run.status };
    const phase: RunPhase = run.status === 'done' || run.status === 'failed' || run.status === 'cancelled' || run.status === 'interrupted' ? run.status : 'idle';
    const when = new Date(run.createdAt).toLocaleString();
    this.#setPhase(phase, `run ${run.id} of ${when}: ${run.status}${run.durationMs !== undefined ? ` in ${formatMs(run.durationMs)}` : ''}`);
  }

  /** After the run on the canvas ended: the next run this tab queued takes the canvas. */
  #advance(): void {
    if (this.busy) return;
    const next = this.pending.shift();
    if (!next) return;
    this.clearRun();
    this.runId = next.id;
    for (const node of this.nodes) if (node.mode !== 2) node.run = { state: 'queued' };
    this.#runStarted = performance.now();
    this.#tick = setInterval(() => this.canvas.setDirty(true, false), 250);
    this.#setPhase('queued');
    // Its events so far were not shown (another run had the canvas): fetch them all.
    void this.catchUp();
  }

  clearRun(): void {
    this.runId = undefined;
    this.#lastSeq = -1;
    clearInterval(this.#tick);
    for (const node of this.nodes) {
      node.run = undefined;
      if (!node.userSized) {
        const s = node.computeSize();
        node.setSizeQuietly([s[0], s[1]]);
      }
    }
    this.#setPhase('idle');
  }

  statusText = '';

  #setPhase(phase: RunPhase, text?: string): void {
    this.phase = phase;
    const done = this.nodes.filter((n) => n.run && ['done', 'cached'].includes(n.run.state)).length;
    const total = this.nodes.filter((n) => n.run).length;
    const elapsed = this.#runStarted ? formatMs(performance.now() - this.#runStarted) : '';
    this.statusText =
      text ??
      {
        idle: '',
        queued: 'queued…',
        running: `running ${done}/${total} nodes`,
        done: `done in ${elapsed}`,
        failed: 'failed',
        cancelled: `cancelled after ${elapsed}`,
        interrupted: 'interrupted: the server stopped before the run ended',
        invalid: `graph has ${this.issues.length} problem${this.issues.length === 1 ? '' : 's'}; not run`,
      }[phase];
    document.body.dataset.runStatus = phase;
    if (phase !== 'running' && phase !== 'queued') clearInterval(this.#tick);
    this.#notify();
  }

  /** Applies one WebSocket message. */
  handle(m: ServerMessage): void {
    this.#handle(m);
    if (m.type === 'run') for (const l of this.#runListeners) l(m.run);
    if (!this.busy && this.pending.length) this.#advance();
  }

  readonly #runListeners = new Set<(run: RunInfo) => void>();

  /** Called with every run status the server announces, of any run (the runs panel). */
  onRun(listener: (run: RunInfo) => void): () => void {
    this.#runListeners.add(listener);
    return () => this.#runListeners.delete(listener);
  }

  #handle(m: ServerMessage): void {
    const runId = m.type === 'event' ? m.event.runId : m.type === 'preview' ? m.runId : m.type === 'run' ? m.run.id : undefined;
    if (runId === undefined) return;
    const waiting = this.pending.findIndex((r) => r.id === runId);
    if (waiting >= 0) {
      // Queued here behind the run on the canvas: only its end (e.g. cancelled) matters now.
      if (m.type === 'run') {
        if (['done', 'failed', 'cancelled', 'interrupted'].includes(m.run.status)) this.pending.splice(waiting, 1);
        else this.pending[waiting] = m.run;
        this.#notify();
      }
      return;
    }
    if (runId !== this.runId && m.type === 'run' && this.#adopt(m.run)) return;
    if (runId !== this.runId) {
      // Possibly our run before the POST reply arrived: keep a bounded backlog.
      if (this.phase === 'queued' && !this.runId) {
        const list = this.#early.get(runId) ?? [];
        if (list.length < 5000) list.push(m);
        this.#early.set(runId, list);
      }
      return;
    }
    if (m.type === 'event') {
      if (m.event.seq <= this.#lastSeq) return; // already applied (replayed after a reconnect)
      this.#lastSeq = m.event.seq;
      this.#onEvent(m.event);
    }
    else if (m.type === 'preview') this.#onPreview(m);
    else if (m.type === 'run' && m.run.status === 'interrupted') {
      for (const n of this.nodes) if (n.run && (n.run.state === 'queued' || n.run.state === 'running')) n.run = { ...n.run, state: 'skipped', message: 'interrupted' };
      this.#setPhase('interrupted');
    } else if (m.type === 'run' && m.run.status === 'running' && this.phase === 'queued') this.#setPhase('running');
    else if (m.type === 'run' && m.run.status === 'queued' && m.run.position) this.#setPhase('queued', `queued (${m.run.position} run${m.run.position === 1 ? '' : 's'} ahead)`);
  }

  /**
   * Follows a run of this same graph started elsewhere (another tab, the API), when this tab is
   * not running one itself: its progress is shown here as if started here. Returns whether it did.
   */
  #adopt(run: RunInfo): boolean {
    if (this.phase === 'queued' || this.phase === 'running') return false;
    if (run.status !== 'queued' && run.status !== 'running') return false;
    const label = this.path ?? this.fileName;
    if (!label || run.label !== label) return false;
    this.clearRun();
    this.runId = run.id;
    for (const node of this.nodes) if (node.mode !== 2) node.run = { state: 'queued' };
    this.#runStarted = performance.now();
    this.#tick = setInterval(() => this.canvas.setDirty(true, false), 250);
    this.#setPhase(run.status, run.status === 'queued' ? 'queued (started in another tab)…' : undefined);
    void this.catchUp();
    return true;
  }

  /**
   * After the WebSocket reconnects, fetches the events of the current run that were missed while
   * it was down (the server keeps every event), so the nodes show the truth.
   */
  async catchUp(): Promise<void> {
    const id = this.runId;
    if (!id || !(this.phase === 'queued' || this.phase === 'running')) return;
    try {
      const r = await this.api.request<{ events: WireEvent[] }>('GET', `/api/runs/${encodeURIComponent(id)}/events?since=${this.#lastSeq + 1}`);
      for (const event of r.events) if (this.runId === id) this.handle({ type: 'event', event });
    } catch {
      /* the next reconnect tries again */
    }
  }

  #onEvent(e: WireEvent): void {
    const node = e.nodeId !== undefined ? this.nodeById(e.nodeId) : undefined;
    const run = node ? (node.run ??= { state: 'queued' }) : undefined;
    switch (e.type) {
      case 'run:start':
        this.#runStarted = performance.now() - e.t;
        this.#setPhase('running');
        break;
      case 'node:start':
        Object.assign(run!, { state: 'running', startedAt: performance.now() });
        break;
      case 'node:progress':
        Object.assign(run!, { value: e.value, max: e.max });
        break;
      case 'node:cached':
        run!.state = 'cached';
        break;
      case 'node:output':
        if (run) {
          run.outputText = summarize(e.outputs ?? {});
          // `perK` first: a metrics node's table by name, else any output that reads as one.
          const outputs = Object.entries(e.outputs ?? {}).sort(([a], [b]) => Number(b === 'perK') - Number(a === 'perK'));
          const table = outputs.map(([, v]) => perKTable(v)).find((t) => t !== undefined);
          if (table) {
            run.table = table;
            this.#fitPreview(node!);
          }
        }
        break;
      case 'node:log':
        // Warnings (e.g. a provider that fell back to cpu) are shown on their node; other levels
        // are for the run's record and the CLI.
        if (e.level === 'warn' && typeof e.message === 'string') {
          if (run) node!.warn(e.message);
          else this.onMessage?.(`warning: ${e.message}`, 'info');
        }
        break;
      case 'node:done':
        Object.assign(run!, { state: e.cached ? 'cached' : 'done', durationMs: e.durationMs });
        break;
      case 'node:error':
        Object.assign(run!, { state: 'error', message: e.error?.message, durationMs: run?.startedAt !== undefined ? performance.now() - run.startedAt : undefined });
        break;
      case 'node:skipped':
        Object.assign(run!, { state: 'skipped', message: e.reason });
        break;
      case 'run:done':
        this.#setPhase('done');
        break;
      case 'run:failed': {
        const issues = (e.issues as ValidationIssue[] | undefined) ?? [];
        if (issues.length) this.showIssues(issues);
        const errors = (e.errors as { nodeId: string; message: string }[] | undefined) ?? [];
        this.#setPhase('failed', errors.length ? `failed: ${errors[0]!.nodeId}: ${errors[0]!.message}` : issues.length ? `invalid graph (${issues.length} problems)` : 'failed');
        break;
      }
      case 'run:cancelled':
        for (const n of this.nodes) if (n.run && (n.run.state === 'queued' || n.run.state === 'running')) n.run = { ...n.run, state: 'skipped', message: 'cancelled' };
        this.#setPhase('cancelled');
        break;
    }
    if (this.phase === 'running' && e.type.startsWith('node:')) this.#setPhase('running');
    this.canvas.setDirty(true, false);
  }

  #onPreview(p: PreviewMessage): void {
    const node = this.nodeById(p.nodeId);
    if (!node) return;
    const run = (node.run ??= { state: 'running' });
    const preview: NonNullable<typeof run.preview> = { ...p };
    if (p.src) {
      const img = new Image();
      img.onload = () => this.canvas.setDirty(true, false);
      img.src = p.src;
      preview.image = img;
    }
    run.preview = preview;
    this.#fitPreview(node);
    this.canvas.setDirty(true, true);
    this.#notify();
  }

  /** Grows a node for its preview, never over its neighbours. */
  #fitPreview(node: TesseraNode): void {
    const titleH = LiteGraph.NODE_TITLE_HEIGHT;
    const boxOf = (n: TesseraNode): Box => [n.pos[0], n.pos[1] - titleH, n.pos[0] + (n.flags.collapsed ? 100 : n.size[0]), n.pos[1] + (n.flags.collapsed ? 0 : n.size[1])];
    const others = this.nodes.filter((n) => n !== node).map(boxOf);
    const box = boxOf(node);
    node.fitPreview((wanted) => {
      const room = roomToGrow(box, others, { width: wanted.width, height: wanted.height + titleH });
      return { width: room.width, height: room.height - titleH };
    });
  }

  /** Adds a node of a type at a canvas position (or the middle of the view). */
  addNode(type: string, pos?: [number, number]): TesseraNode | undefined {
    const node = LiteGraph.createNode(type) as unknown as TesseraNode | null;
    if (!node) return undefined;
    const ds = this.canvas.ds;
    const el = this.canvas.canvas;
    node.pos = pos ?? [el.clientWidth / 2 / ds.scale - ds.offset[0] - node.size[0] / 2, el.clientHeight / 2 / ds.scale - ds.offset[1] - node.size[1] / 2];
    this.graph.add(node);
    return node;
  }
}

function summarize(outputs: Record<string, unknown>): string {
  const parts = Object.entries(outputs).map(([k, v]) => {
    const s = typeof v === 'string' ? JSON.stringify(v) : v && typeof v === 'object' && '$summary' in v ? String((v as { $summary: unknown }).$summary) : JSON.stringify(v);
    return `${k}: ${s && s.length > 80 ? s.slice(0, 77) + '…' : s}`;
  });
  return parts.join('  ');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
