import { LiteGraph } from '@comfyorg/litegraph';
import type { TesseraNode } from './TesseraNode.ts';
import type { JsonSchema, PortSpec } from './types.ts';
import { providerLabel } from './providers.ts';

// Descriptions on hover: litegraph 0.17 never draws widget tooltips and shows no port types, so
// the editor finds what is under the pointer itself and shows it in a DOM box over the canvas.

/** What the pointer is over, and the text that describes it. */
export interface HoverInfo {
  kind: 'node' | 'input' | 'output' | 'param';
  nodeId: string;
  /** Port or param name (absent for the title). */
  name?: string;
  text: string;
}

/** Distance (canvas units) from a slot's centre that still counts as over it. */
const SLOT_RADIUS = 10;

/** The node title, port or param widget at a canvas point, with its description. */
export function hoverInfo(nodes: readonly TesseraNode[], [x, y]: readonly [number, number]): HoverInfo | undefined {
  // Topmost first: the canvas draws later nodes over earlier ones.
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k]!;
    const def = node.def;
    if (!def) continue;
    const collapsed = Boolean(node.flags.collapsed);
    if (!collapsed) {
      for (const [isInput, slots] of [[true, node.inputs ?? []], [false, node.outputs ?? []]] as const) {
        for (let i = 0; i < slots.length; i++) {
          const [sx, sy] = node.getConnectionPos(isInput, i);
          if (Math.abs(sx - x) > SLOT_RADIUS || Math.abs(sy - y) > SLOT_RADIUS) continue;
          const name = String((slots[i] as unknown as { tName?: string }).tName ?? slots[i]!.name);
          const spec = (isInput ? def.inputs : def.outputs)[name];
          if (spec) return { kind: isInput ? 'input' : 'output', nodeId: node.tid, name, text: portText(name, spec, isInput) };
        }
      }
    }
    const titleH = LiteGraph.NODE_TITLE_HEIGHT;
    const width = collapsed ? ((node as unknown as { _collapsed_width?: number })._collapsed_width ?? 100) : node.size[0];
    if (x < node.pos[0] || x > node.pos[0] + width) continue;
    if (y >= node.pos[1] - titleH && y < node.pos[1]) return { kind: 'node', nodeId: node.tid, text: nodeText(node) };
    if (collapsed || y < node.pos[1] || y > node.pos[1] + node.size[1]) continue;
    for (const w of node.widgets ?? []) {
      const key = (w as { paramKey?: string }).paramKey;
      const top = (w as { last_y?: number }).last_y;
      if (!key || top === undefined) continue;
      const wy = y - node.pos[1];
      if (wy >= top && wy < top + LiteGraph.NODE_WIDGET_HEIGHT) return { kind: 'param', nodeId: node.tid, name: key, text: paramText(key, def.params.properties?.[key] ?? {}) };
    }
    return undefined; // over the body of the topmost node: nothing under it counts
  }
  return undefined;
}

/** A node's title tooltip: its type and description, its provider pin, and this run's warnings in full. */
export function nodeText(node: TesseraNode): string {
  const def = node.def;
  const lines = [`${def.title}  (${def.type})`];
  if (def.description) lines.push(def.description);
  if (node.provider !== undefined) lines.push(`execution provider: ${providerLabel(node.provider)} (pinned; right-click ▸ Execution provider)`);
  for (const w of node.run?.warnings ?? []) lines.push(`⚠ ${w}`);
  return lines.join('\n');
}

/** `image: IMAGE (optional)` and its description. */
export function portText(name: string, spec: PortSpec, isInput: boolean): string {
  const marks = [isInput && spec.optional ? 'optional' : '', spec.list ? 'list: one link per item' : '', spec.stream ? 'stream' : ''].filter(Boolean);
  return `${isInput ? 'input' : 'output'} ${name}: ${spec.type}${marks.length ? ` (${marks.join(', ')})` : ''}${spec.description ? `\n${spec.description}` : ''}`;
}

/** `steps: integer, 1 … 1000, default 20` and its description. */
export function paramText(key: string, schema: JsonSchema): string {
  const type = schema.enum ? `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}` : Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any JSON');
  const lo = schema.minimum ?? schema.exclusiveMinimum;
  const hi = schema.maximum ?? schema.exclusiveMaximum;
  const range = lo !== undefined || hi !== undefined ? `, ${lo ?? '−∞'} … ${hi ?? '∞'}` : '';
  const dflt = schema.default !== undefined ? `, default ${JSON.stringify(schema.default)}` : ', no default (unset: the node decides)';
  return `${key}: ${type}${range}${dflt}${schema.description ? `\n${schema.description}` : ''}`;
}

/**
 * Shows {@link hoverInfo} for the pointer in a box next to it (`#tooltip`), after the pointer has
 * rested a moment; hides it on the next move away, a press or leaving the canvas.
 */
export function installTooltips(canvasEl: HTMLCanvasElement, host: HTMLElement, at: (e: PointerEvent) => [number, number], nodes: () => readonly TesseraNode[]): HTMLElement {
  const box = Object.assign(document.createElement('div'), { id: 'tooltip', hidden: true });
  box.setAttribute('role', 'tooltip');
  host.append(box);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let shown = '';
  const hide = () => {
    clearTimeout(timer);
    box.hidden = true;
    shown = '';
  };
  canvasEl.addEventListener('pointermove', (e) => {
    clearTimeout(timer);
    if (e.buttons) return hide();
    const info = hoverInfo(nodes(), at(e));
    if (!info) return hide();
    const key = `${info.kind}\0${info.nodeId}\0${info.name ?? ''}`;
    const place = () => {
      const r = host.getBoundingClientRect();
      box.style.left = `${Math.min(e.clientX - r.left + 14, r.width - 340)}px`;
      box.style.top = `${e.clientY - r.top + 18}px`;
    };
    if (key === shown) return place();
    box.hidden = true;
    timer = setTimeout(() => {
      box.textContent = info.text;
      box.dataset.kind = info.kind;
      shown = key;
      place();
      box.hidden = false;
    }, 250);
  });
  canvasEl.addEventListener('pointerdown', hide);
  canvasEl.addEventListener('pointerleave', hide);
  canvasEl.addEventListener('wheel', hide, { passive: true });
  return box;
}
