import { LGraphNode, LiteGraph, LGraphCanvas } from '@comfyorg/litegraph';
import type { INodeInputSlot, IBaseWidget } from './litegraphTypes.ts';
import type { JsonSchema, NodeDescription, NodeRunState, PreviewMessage, ValidationIssue } from './types.ts';
import { PROVIDER_COLOR, STATE_COLORS, WARN_COLOR, typeColor } from './colors.ts';
import { PROVIDER_CHOICES, isProviderChoice, providerLabel, type ProviderChoice } from './providers.ts';
import { numberProblem } from './paramCheck.ts';
import type { TableView } from './tableView.ts';

/** What nodes need from the editor around them. */
export interface NodeHooks {
  /** A param, link or slot changed (re-validate, mark the graph modified). */
  changed(node: TesseraNode): void;
  /** Workspace files for file-path widgets. */
  workspaceFiles(ext?: string[]): Promise<string[]>;
  /** A refused input: shown to the user, nothing changed. */
  refused(node: TesseraNode, message: string): void;
  /** The user clicked the node's image preview. */
  enlarge(node: TesseraNode): void;
}

export const hooks: NodeHooks = { changed: () => undefined, workspaceFiles: async () => [], refused: () => undefined, enlarge: () => undefined };

/** A node's run state as the editor shows it. */
export interface RunView extends NodeRunState {
  /** performance.now() when node:start arrived, for the live elapsed time. */
  startedAt?: number;
  /** Short text of the last output values (for nodes without a visual preview). */
  outputText?: string;
  preview?: PreviewMessage & { image?: HTMLImageElement };
  /** A per-K table from an output (metrics nodes), drawn when there is no image preview. */
  table?: TableView;
  /** Messages of the node's `node:log` warn events in this run (e.g. a provider that fell back to cpu). */
  warnings?: string[];
}

/** Distinct warnings kept per node and run: the first ones say what happened, the rest would bury the node. */
const MAX_WARNINGS = 5;

const TABLE_ROW_H = 15;
const TABLE_LABEL_W = 120;
const TABLE_COL_W = 58;

const PREVIEW_MAX_H = 220;

/** One entry of the node's right-click menu (litegraph's ContextMenu item; a submenu opens on hover). */
interface MenuEntry {
  content: string;
  callback?: () => void;
  has_submenu?: boolean;
  submenu?: { title: string; options: MenuEntry[] };
}

/** A JSON-text widget's marker, so its value is parsed back on change. */
type ParamWidget = IBaseWidget & { paramKey?: string; json?: boolean; jsonError?: string };

/**
 * The litegraph node of every tessera node type: ports from the definition (coloured by type;
 * `list` inputs grow one slot per link), widgets from its params schema, and the run overlay
 * (state outline, progress bar, elapsed time, error message, previews).
 */
export class TesseraNode extends LGraphNode {
  declare def: NodeDescription;
  /** Resized by the user (only then is `size` saved in the ui block). */
  userSized = false;
  run?: RunView;
  issues: ValidationIssue[] = [];
  /** The last refused input (shown under the node until the next accepted change). */
  refusal?: string;
  #quiet = 0;

  /** The tessera node id (`count`, `square`, …); kept in properties so copy/paste carries it. */
  get tid(): string {
    return String(this.properties.tid ?? '');
  }
  set tid(v: string) {
    this.properties.tid = v;
  }

  /**
   * The node's `provider` pin as the file has it (undefined: none, the run's or graph's setting
   * applies); in properties so copy/paste carries it.
   */
  get provider(): unknown {
    return this.properties.provider;
  }
  set provider(v: unknown) {
    if (v === undefined) delete this.properties.provider;
    else this.properties.provider = v as never;
  }

  /** Pins the node's execution provider (undefined: unpins it); an edit like a param. */
  setProvider(v: ProviderChoice | undefined): void {
    if (v === this.provider) return;
    this.provider = v;
    hooks.changed(this);
  }

  /** Records a warning the run logged for this node (shown under it, with a mark by its badge). */
  warn(message: string): void {
    const run = (this.run ??= { state: 'queued' });
    const list = (run.warnings ??= []);
    if (!list.includes(message) && list.length < MAX_WARNINGS) list.push(message);
  }

  /** Params written in the graph file (defaults the user never touched stay absent). */
  get params(): Record<string, unknown> {
    return (this.properties.params ??= {}) as Record<string, unknown>;
  }
  set params(v: Record<string, unknown>) {
    this.properties.params = v;
  }

  /** Called by each generated subclass's constructor. */
  setup(def: NodeDescription): void {
    this.def = def;
    this.#quiet++;
    this.properties = { tid: '', params: {} };
    for (const [name, spec] of Object.entries(def.inputs)) {
      if (spec.list) this.#addInputSlot(name, spec.type, 0);
      else this.#addInputSlot(name, spec.type);
    }
    for (const [name, spec] of Object.entries(def.outputs)) {
      const slot = this.addOutput(name, spec.type) as unknown as Record<string, unknown>;
      const c = typeColor(spec.type);
      Object.assign(slot, { label: spec.stream ? `${name} ~` : name, color_on: c, color_off: c, tName: name });
    }
    this.#buildWidgets();
    // litegraph sets onMouseDown per instance (title buttons), so a prototype method would be hidden.
    const base = this.onMouseDown;
    this.onMouseDown = (e, pos, canvas) => this.previewClick(pos) || (base?.call(this, e, pos, canvas) ?? false);
    this.size = this.computeSize();
    this.#quiet--;
  }

  #addInputSlot(name: string, type: string, listIndex?: number): INodeInputSlot {
    const spec = this.def.inputs[name]!;
    const c = typeColor(type);
    const label = listIndex !== undefined ? `${name}[${listIndex}]` : spec.optional ? `${name}?` : spec.stream ? `${name} ~` : name;
    const slot = this.addInput(listIndex !== undefined ? `${name}[${listIndex}]` : name, type) as unknown as INodeInputSlot;
    Object.assign(slot, { label, color_on: c, color_off: c, tName: name, ...(listIndex !== undefined ? { listIndex } : {}) });
    return slot;
  }

  /** Input slot indices of one tessera input, in order. */
  slotsOf(name: string): number[] {
    const out: number[] = [];
    (this.inputs ?? []).forEach((s, i) => {
      if ((s as unknown as { tName?: string }).tName === name) out.push(i);
    });
    return out;
  }

  /**
   * Makes a list input have exactly `linked` filled slots plus one empty slot at the end,
   * so there is always a free slot to drop another link on.
   */
  ensureListSlots(name: string, wanted?: number): void {
    const spec = this.def.inputs[name];
    if (!spec?.list) return;
    this.#quiet++;
    try {
      let slots = this.slotsOf(name);
      if (wanted !== undefined) {
        while (slots.length < wanted + 1) {
          this.#addInputSlot(name, spec.type, slots.length);
          slots = this.slotsOf(name);
        }
      } else {
        // Drop empty slots except a single trailing one.
        for (let k = slots.length - 1; k >= 0; k--) {
          const i = slots[k]!;
          const isLast = k === slots.length - 1;
          if (this.inputs[i]!.link == null && !isLast) this.removeInput(i);
        }
        slots = this.slotsOf(name);
        const last = slots[slots.length - 1];
        if (last === undefined || this.inputs[last]!.link != null) this.#addInputSlot(name, spec.type, slots.length);
        slots = this.slotsOf(name);
        while (slots.length >= 2 && this.inputs[slots[slots.length - 1]!]!.link == null && this.inputs[slots[slots.length - 2]!]!.link == null) {
          this.removeInput(slots[slots.length - 1]!);
          slots = this.slotsOf(name);
        }
      }
      this.slotsOf(name).forEach((i, k) => Object.assign(this.inputs[i]!, { name: `${name}[${k}]`, label: `${name}[${k}]`, listIndex: k }));
      this.size = [Math.max(this.size[0], this.computeSize()[0]), Math.max(this.computeSize()[1], this.userSized ? this.size[1] : 0)];
    } finally {
      this.#quiet--;
    }
  }

  override onConnectionsChange(type: number): void {
    if (this.#quiet) return;
    if (type === LiteGraph.INPUT) for (const [name, spec] of Object.entries(this.def.inputs)) if (spec.list) this.ensureListSlots(name);
    hooks.changed(this);
  }

  override onResize(): void {
    if (!this.#quiet) this.userSized = true;
  }

  /** Sets size without counting it as a user resize. */
  setSizeQuietly(size: [number, number]): void {
    this.#quiet++;
    this.size = size;
    this.#quiet--;
  }

  // ---- widgets ---------------------------------------------------------------------------------

  #buildWidgets(): void {
    const props = this.def.params.properties ?? {};
    for (const [key, schema] of Object.entries(props)) this.#widgetFor(key, schema);
  }

  #widgetFor(key: string, schema: JsonSchema): void {
    const value = schema.default;
    const set = (v: unknown) => this.setParam(key, v);
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    let w: ParamWidget;
    if (schema.enum) {
      w = this.addWidget('combo', key, (value ?? schema.enum[0]) as string, (v: unknown) => set(v), { values: schema.enum as string[] }) as ParamWidget;
    } else if (schema['x-widget'] === 'seed') {
      w = this.addWidget('number', key, (value as number | undefined) ?? 0, (v: unknown) => set(Math.round(Number(v))), { min: schema.minimum ?? 0, max: schema.maximum ?? 4294967295, step2: 1, precision: 0 }) as ParamWidget;
      const target = w;
      this.addWidget('button', `randomize ${key}`, '', () => {
        const max = Math.min(schema.maximum ?? 4294967295, 4294967295);
        const min = schema.minimum ?? 0;
        const v = min + Math.floor(Math.random() * (max - min + 1));
        target.value = v;
        set(v);
      }, {});
    } else if (types.length === 1 && (types[0] === 'number' || types[0] === 'integer')) {
      const integer = types[0] === 'integer';
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum : undefined);
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum : undefined);
      // Without a declared step: 1, or a hundredth of a narrow range (e.g. 0..1).
      const range = min !== undefined && max !== undefined ? max - min : Infinity;
      const step = schema['x-step'] ?? schema.multipleOf ?? (integer ? 1 : range <= 2 ? 0.01 : range <= 20 ? 0.1 : 1);
      w = this.addWidget('number', key, (value as number | undefined) ?? min ?? 0, (v: unknown) => set(integer ? Math.round(Number(v)) : roundTo(Number(v), step)), {
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
        step2: step,
        precision: integer ? 0 : decimals(step),
      }) as ParamWidget;
      // Show the value as written (litegraph pads to a fixed precision: 600 would read 600.00);
      // an optional param without a default that the file leaves out reads "unset".
      Object.defineProperty(w, '_displayValue', { get: () => (this.#isUnset(key) ? 'unset' : formatNumber(Number(w.value))) });
      // A typed value is checked against the schema and refused with a message, never clamped.
      const widget = w as ParamWidget & { onClick(o: { e: { canvasX: number }; node: LGraphNode; canvas: LGraphCanvas }): void };
      const arrows = widget.onClick.bind(widget);
      widget.onClick = (o) => {
        const x = o.e.canvasX - this.pos[0];
        const width = (widget as { width?: number }).width || this.size[0];
        if (x < 40 || x > width - 40) return arrows(o);
        o.canvas.prompt(key, this.#isUnset(key) ? '' : widget.value, (text: unknown) => {
          const problem = numberProblem(key, schema, String(text));
          if (problem) return hooks.refused(this, problem);
          widget.value = Number(String(text).trim());
          set(widget.value);
        }, o.e as never);
      };
    } else if (types.length === 1 && types[0] === 'boolean') {
      w = this.addWidget('toggle', key, Boolean(value), (v: unknown) => set(Boolean(v)), {}) as ParamWidget;
    } else if (types.length === 1 && types[0] === 'string' && fileWidget(schema)) {
      const current = (value as string | undefined) ?? '';
      w = this.addWidget('combo', key, current, (v: unknown) => set(String(v)), { values: [current] }) as ParamWidget;
      const widget = w;
      void hooks.workspaceFiles(fileWidget(schema)!.extensions).then((files) => {
        (widget.options as { values: string[] }).values = [...new Set([String(widget.value ?? ''), ...files])];
      });
    } else if (types.length === 1 && types[0] === 'string') {
      w = this.addWidget('text', key, (value as string | undefined) ?? '', (v: unknown) => set(String(v)), {}) as ParamWidget;
    } else {
      // Arrays, objects and untyped params are edited as JSON text.
      w = this.addWidget('text', key, value === undefined ? '' : JSON.stringify(value), (v: unknown) => this.#setJsonParam(key, String(v), w), {}) as ParamWidget;
      w.json = true;
    }
    w.paramKey = key;
    if (schema.default === undefined && w.type === 'combo') {
      const own = Object.getOwnPropertyDescriptor(w, '_displayValue') ?? protoGetter(w, '_displayValue');
      Object.defineProperty(w, '_displayValue', { get: () => (this.#isUnset(key) ? 'unset' : own?.get?.call(w)) });
    }
    if (schema.description) (w as unknown as { tooltip?: string }).tooltip = schema.description;
  }

  #setJsonParam(key: string, text: string, w: ParamWidget): void {
    if (text.trim() === '') {
      delete this.params[key];
      w.jsonError = undefined;
      hooks.changed(this);
      return;
    }
    try {
      this.setParam(key, JSON.parse(text));
      w.jsonError = undefined;
    } catch (error) {
      w.jsonError = `${key}: not valid JSON (${(error as Error).message})`;
      hooks.changed(this);
    }
  }

  /** A param with no default that the graph leaves out: the node decides (e.g. from a checkpoint). */
  #isUnset(key: string): boolean {
    return !(key in this.params) && this.def.params.properties?.[key]?.default === undefined;
  }

  /** Removes a param from the file: back to its default, or to "unset" when it has none. */
  unsetParam(key: string): void {
    if (!(key in this.params)) return;
    this.refusal = undefined;
    delete this.params[key];
    const schema = this.def.params.properties?.[key];
    const w = ((this.widgets ?? []) as ParamWidget[]).find((x) => x.paramKey === key);
    if (w && schema) {
      const d = schema.default;
      if (w.json) w.value = (d === undefined ? '' : JSON.stringify(d)) as never;
      else if (d !== undefined) w.value = d as never;
      else if (w.type === 'number') w.value = (schema.minimum ?? schema.exclusiveMinimum ?? 0) as never;
      w.jsonError = undefined;
    }
    hooks.changed(this);
  }

  /** A click on an image or heatmap preview enlarges it (the area under the widgets). */
  previewClick(pos: ArrayLike<number>): boolean {
    const p = this.run?.preview;
    if (!p?.image?.complete || (p.kind !== 'image' && p.kind !== 'heatmap')) return false;
    if (pos[1]! < this.computeSize()[1] || pos[1]! > this.size[1]) return false;
    hooks.enlarge(this);
    return true;
  }

  /**
   * Right-click menu: the execution provider pin (a submenu: default, then each provider, the
   * current one marked), then one entry per param the file sets, to take it out again.
   */
  override getExtraMenuOptions(): MenuEntry[] {
    const props = this.def.params.properties ?? {};
    const current = this.provider;
    const mark = (on: boolean, text: string) => `${on ? '● ' : ''}${text}`;
    const providers: MenuEntry[] = [
      { content: mark(current === undefined, 'default'), callback: () => this.setProvider(undefined) },
      ...PROVIDER_CHOICES.map((p) => ({ content: mark(current === p, p), callback: () => this.setProvider(p) })),
    ];
    // A value this editor does not know stays in the file until another is chosen; it is listed so the user sees it.
    if (current !== undefined && !isProviderChoice(current)) providers.push({ content: mark(true, providerLabel(current)), callback: () => undefined });
    return [
      { content: 'Execution provider', has_submenu: true, submenu: { title: 'Execution provider', options: providers } },
      ...Object.keys(this.params)
        .filter((k) => k in props)
        .map((k) => ({ content: props[k]!.default === undefined ? `Unset ${k}` : `Reset ${k} to default (${JSON.stringify(props[k]!.default)})`, callback: () => this.unsetParam(k) })),
    ];
  }

  /** Sets one param from a widget and tells the editor. */
  setParam(key: string, value: unknown): void {
    this.refusal = undefined;
    this.params[key] = value;
    hooks.changed(this);
  }

  /** Shows params from a graph file in the widgets (absent ones show their default). */
  applyParams(params: Record<string, unknown>): void {
    this.params = structuredClone(params);
    for (const w of (this.widgets ?? []) as ParamWidget[]) {
      const key = w.paramKey;
      if (!key || !(key in params)) continue;
      const v = params[key];
      w.value = (w.json ? JSON.stringify(v) : w.type === 'combo' && (w.options as { values?: unknown[] }).values && !(w.options as { values: unknown[] }).values.includes(v) ? String(v) : v) as never;
      if (w.type === 'combo' && fileWidget(this.def.params.properties?.[key] ?? {})) {
        const opts = w.options as { values: string[] };
        if (!opts.values.includes(String(v))) opts.values = [String(v), ...opts.values];
      }
    }
  }

  /** Problems local to the editor (JSON widgets that do not parse). */
  localIssues(): string[] {
    return ((this.widgets ?? []) as ParamWidget[]).flatMap((w) => (w.jsonError ? [w.jsonError] : []));
  }

  // ---- run overlay -----------------------------------------------------------------------------

  /**
   * Grows the node to make room for a preview (without counting as a user resize), at most to
   * `limit` (the room left before its neighbours, so a preview never covers another node).
   */
  fitPreview(limit?: (wanted: { width: number; height: number }) => { width: number; height: number }): void {
    const base = this.computeSize();
    const p = this.run?.preview;
    const table = this.run?.table;
    if (!p && !table) return;
    let width = Math.max(this.size[0], 220);
    let extra: number;
    if (p) extra = p.kind === 'plot' ? 90 : Math.min(PREVIEW_MAX_H, Math.round(((width - 16) * (p.height ?? 1)) / (p.width ?? 1))) + 8;
    else {
      width = Math.max(this.size[0], TABLE_LABEL_W + TABLE_COL_W * table!.columns.length + 16);
      extra = TABLE_ROW_H * (table!.rows.length + 1) + 10;
    }
    const wanted = { width, height: Math.max(this.userSized ? this.size[1] : 0, base[1] + extra) };
    const room = limit ? limit(wanted) : wanted;
    this.setSizeQuietly([Math.max(this.size[0], Math.min(wanted.width, room.width)), Math.max(this.size[1], Math.min(wanted.height, room.height))]);
  }

  override onDrawForeground(ctx: CanvasRenderingContext2D): void {
    const titleH = LiteGraph.NODE_TITLE_HEIGHT;
    const [w, h] = this.size;
    const run = this.run;
    const invalid = this.issues.length > 0 || this.localIssues().length > 0;
    const state = run?.state;
    const outline = invalid && !run ? STATE_COLORS.invalid : state ? STATE_COLORS[state] : undefined;
    if (outline && !this.flags.collapsed) {
      ctx.save();
      ctx.strokeStyle = outline;
      ctx.lineWidth = state === 'running' ? 3 : 2;
      if (invalid && !run) ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.roundRect(-3, -titleH - 3, w + 6, h + titleH + 6, 10);
      ctx.stroke();
      ctx.restore();
    }
    if (this.mode === 2 && !run) {
      // Disabled (litegraph mode "Never"): validated but not run, nor its descendants.
      ctx.save();
      ctx.font = 'bold 12px sans-serif';
      ctx.textAlign = 'right';
      ctx.fillStyle = STATE_COLORS.skipped;
      ctx.fillText('disabled', w, -titleH - 7);
      ctx.restore();
    }
    if (this.provider !== undefined) {
      // The pinned provider, above the title bar on the left (state badges are on the right).
      ctx.save();
      ctx.font = 'bold 11px sans-serif';
      ctx.textAlign = 'left';
      ctx.fillStyle = isProviderChoice(this.provider) ? PROVIDER_COLOR : STATE_COLORS.invalid;
      ctx.fillText(`⚙ ${providerLabel(this.provider)}`, 0, -titleH - 7);
      ctx.restore();
    }
    if (run) {
      // Badge above the title bar: state and elapsed time.
      const badge = this.#badgeText(run);
      // Above the title bar, so long titles and the badge never overlap.
      ctx.save();
      ctx.font = 'bold 12px sans-serif';
      ctx.textAlign = 'right';
      ctx.fillStyle = STATE_COLORS[run.state];
      ctx.fillText(badge, w, -titleH - 7);
      if (run.warnings?.length) {
        // A warning mark left of the badge: the messages are under the node.
        ctx.fillStyle = WARN_COLOR;
        ctx.fillText('⚠', w - ctx.measureText(badge).width - 6, -titleH - 7);
      }
      ctx.restore();
      if (run.state === 'running' && run.max) {
        ctx.fillStyle = STATE_COLORS.running;
        ctx.fillRect(0, -3, (w * Math.min(1, (run.value ?? 0) / run.max)), 3);
      }
    }
    if (this.flags.collapsed) return;
    const p = run?.preview;
    if (p) this.#drawPreview(ctx, p);
    else if (run?.table) this.#drawTable(ctx, run.table);
    // Messages under the node: validation problems, the error, or a short output preview.
    const lines: { text: string; color: string; maxLines?: number }[] = [];
    for (const i of this.issues) lines.push({ text: `⚠ ${i.message}`, color: STATE_COLORS.invalid });
    for (const m of this.localIssues()) lines.push({ text: `⚠ ${m}`, color: STATE_COLORS.invalid });
    if (this.refusal) lines.push({ text: `✗ refused: ${this.refusal}`, color: STATE_COLORS.invalid });
    // A warning's point can come last (a provider fallback ends with "running on cpu"): more lines.
    for (const m of run?.warnings ?? []) lines.push({ text: `⚠ ${m}`, color: WARN_COLOR, maxLines: 6 });
    if (run?.state === 'error' && run.message) lines.push({ text: `✗ ${run.message}`, color: STATE_COLORS.error });
    else if (run?.state === 'skipped' && run.message) lines.push({ text: `skipped: ${run.message}`, color: '#999' });
    else if (run?.outputText && !p && !run.table) lines.push({ text: `→ ${run.outputText}`, color: '#bdbdbd' });
    if (lines.length) {
      ctx.save();
      ctx.font = '12px sans-serif';
      ctx.textAlign = 'left';
      let y = h + 18;
      for (const l of lines) {
        for (const piece of wrap(ctx, l.text, Math.max(w, 200), l.maxLines)) {
          ctx.fillStyle = l.color;
          ctx.fillText(piece, 2, y);
          y += 15;
        }
      }
      ctx.restore();
    }
  }

  #badgeText(run: RunView): string {
    const ms = run.state === 'running' && run.startedAt !== undefined ? performance.now() - run.startedAt : run.durationMs;
    const time = ms === undefined ? '' : ' ' + formatMs(ms);
    switch (run.state) {
      case 'queued':
        return 'queued';
      case 'running':
        return `running${run.max ? ` ${run.value ?? 0}/${run.max}` : ''} ·${time || ' 0 ms'}`;
      case 'done':
        return `✓${time}`;
      case 'cached':
        return '↻ cached';
      case 'error':
        return `✗ failed${time}`;
      case 'skipped':
        return 'skipped';
    }
  }

  #drawTable(ctx: CanvasRenderingContext2D, t: TableView): void {
    const top = this.computeSize()[1] + 4;
    const availH = this.size[1] - top - 4;
    const fit = Math.max(0, Math.floor(availH / TABLE_ROW_H) - 1);
    if (fit < 1) return;
    const colW = Math.max(40, Math.min(TABLE_COL_W, (this.size[0] - 16 - TABLE_LABEL_W) / t.columns.length));
    ctx.save();
    ctx.font = '11px monospace';
    ctx.fillStyle = '#1e1e1e';
    ctx.fillRect(6, top, this.size[0] - 12, TABLE_ROW_H * (Math.min(fit, t.rows.length) + 1) + 4);
    ctx.textAlign = 'right';
    ctx.fillStyle = '#9ecbff';
    t.columns.forEach((c, j) => ctx.fillText(c, 8 + TABLE_LABEL_W + colW * (j + 1) - 4, top + 12));
    t.rows.slice(0, fit).forEach((r, i) => {
      const y = top + 12 + TABLE_ROW_H * (i + 1);
      ctx.textAlign = 'left';
      ctx.fillStyle = '#bbb';
      ctx.fillText(r.label.length > 17 ? r.label.slice(0, 16) + '…' : r.label, 10, y);
      ctx.textAlign = 'right';
      ctx.fillStyle = '#eee';
      r.cells.forEach((c, j) => ctx.fillText(c, 8 + TABLE_LABEL_W + colW * (j + 1) - 4, y));
    });
    ctx.restore();
  }

  #drawPreview(ctx: CanvasRenderingContext2D, p: NonNullable<RunView['preview']>): void {
    const base = this.computeSize()[1];
    const x = 8;
    const y = base + 2;
    const w = this.size[0] - 16;
    const availH = this.size[1] - base - 8;
    if (availH < 10) return;
    ctx.save();
    if ((p.kind === 'image' || p.kind === 'heatmap') && p.image?.complete) {
      const scale = Math.min(w / p.image.naturalWidth, availH / p.image.naturalHeight);
      const dw = p.image.naturalWidth * scale;
      const dh = p.image.naturalHeight * scale;
      ctx.imageSmoothingEnabled = scale < 1;
      ctx.drawImage(p.image, x + (w - dw) / 2, y, dw, dh);
      ctx.fillStyle = '#ccc';
      ctx.font = '10px sans-serif';
      const label = (p.count !== undefined ? `1 of ${p.count}  ` : '') + (p.kind === 'heatmap' ? `${p.width}×${p.height}  [${fmt(p.min)}, ${fmt(p.max)}]` : `${p.width}×${p.height}`);
      ctx.fillText(label, x + 2, y + dh - 3);
    } else if (p.kind === 'plot' && p.values?.length) {
      ctx.fillStyle = '#1e1e1e';
      ctx.fillRect(x, y, w, availH);
      const lo = p.min ?? 0;
      const hi = p.max ?? 1;
      const span = hi - lo || 1;
      ctx.strokeStyle = '#4fd1c5';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let started = false;
      p.values.forEach((v, i) => {
        if (v === null) return;
        const px = x + (i / Math.max(1, p.values!.length - 1)) * w;
        const py = y + availH - 4 - ((v - lo) / span) * (availH - 8);
        if (started) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
        started = true;
      });
      ctx.stroke();
      ctx.fillStyle = '#ccc';
      ctx.font = '10px sans-serif';
      ctx.fillText(`${fmt(hi)}`, x + 2, y + 10);
      ctx.fillText(`${fmt(lo)}  (${p.length} points)`, x + 2, y + availH - 2);
    }
    ctx.restore();
  }
}

function protoGetter(o: object, name: string): PropertyDescriptor | undefined {
  for (let p = Object.getPrototypeOf(o); p; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return d;
  }
  return undefined;
}

/** Removes float noise from stepping (0.1 + 0.2) while keeping values typed with more digits. */
function roundTo(v: number, step: number): number {
  const d = Math.max(decimals(step), 0);
  const r = Number(v.toFixed(Math.min(12, d + 6)));
  return Number.isFinite(r) ? r : v;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(10)));
}

/**
 * A workspace-file param: `"x-widget": "file"`, or `"file:.png,.jpg"` to offer only those
 * extensions (x-widget is the one editor keyword the engine's ajv knows, so the filter rides in it).
 */
function fileWidget(schema: JsonSchema): { extensions?: string[] } | undefined {
  const w = schema['x-widget'];
  if (w === 'file') return {};
  if (typeof w === 'string' && w.startsWith('file:')) return { extensions: w.slice(5).split(',').map((e) => e.trim()).filter(Boolean) };
  return undefined;
}

function decimals(step: number): number {
  const s = String(step);
  const i = s.indexOf('.');
  return i < 0 ? 0 : Math.min(6, s.length - i - 1);
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '?';
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
}

/** `850 ms`, `1.4 s`, `2 min 5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Splits text into at most `maxLines` lines of `width` pixels; long words are cut, the rest elided. */
function wrap(ctx: CanvasRenderingContext2D, text: string, width: number, maxLines = 3): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest && out.length < maxLines) {
    let n = rest.length;
    while (n > 1 && ctx.measureText(rest.slice(0, n)).width > width) n = Math.floor(n * 0.9);
    if (n < rest.length) {
      const space = rest.lastIndexOf(' ', n);
      if (space > n * 0.6) n = space + 1;
    }
    out.push(rest.slice(0, n).trimEnd());
    rest = rest.slice(n);
  }
  if (rest && out.length) out[out.length - 1] = out[out.length - 1]!.replace(/.?$/, '…');
  return out;
}

/** Generates and registers one litegraph node class per tessera node type. */
export function registerNodeTypes(defs: readonly NodeDescription[]): void {
  for (const def of defs) {
    const Cls = class extends TesseraNode {
      constructor(title?: string) {
        super(title ?? def.title);
        this.setup(def);
      }
    };
    Object.defineProperty(Cls, 'name', { value: def.type.replace(/[^A-Za-z0-9_]/g, '_') });
    const statics = Cls as unknown as Record<string, unknown>;
    statics.title = def.title;
    statics.desc = def.description;
    LiteGraph.registerNodeType(def.type, Cls as unknown as typeof LGraphNode);
    // registerNodeType derives the category from the type name; the definition says better.
    statics.category = def.category;
  }
  for (const def of defs) for (const spec of [...Object.values(def.inputs), ...Object.values(def.outputs)]) LGraphCanvas.link_type_colors[spec.type] = typeColor(spec.type);
}
