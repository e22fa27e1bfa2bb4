import type { GraphDocument, Link } from '../graph/GraphDocument.ts';
import { linksOf } from '../graph/GraphDocument.ts';
import { quoteText } from '../util/quoteText.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import type { AnyNodeDefinition, OutputSpec } from '../plugin/NodeDefinition.ts';

/** One planned node: its definition, resolved params and wiring. */
export interface PlannedNode {
  readonly id: string;
  readonly def: AnyNodeDefinition;
  readonly params: Record<string, unknown>;
  /** Input port → links, in link order. */
  readonly links: Readonly<Record<string, readonly Link[]>>;
  /** Node ids this one reads from (deduplicated). */
  readonly deps: readonly string[];
  /** Runs once per streamed value because a plain input is fed by a stream. */
  readonly mapped: boolean;
  /** Disabled in the file, or downstream of a disabled node. */
  readonly disabled: boolean;
}

/** What a run will do, computed before anything executes. */
export interface RunPlan {
  /** Needed nodes in a topological order (ties keep file order). */
  readonly order: readonly string[];
  readonly nodes: ReadonlyMap<string, PlannedNode>;
  /** Output ports (`id.port`) that carry streams. */
  readonly streamPorts: ReadonlySet<string>;
  /** How many links read each output port (`id.port`). */
  readonly readers: ReadonlyMap<string, number>;
  /** The nodes whose results were asked for. */
  readonly targets: readonly string[];
}

/**
 * Plans a run of a validated graph: which nodes are needed for the targets (explicit ids, else
 * every sink node, else every leaf), in what order, and which ports stream. Pure. Whatever
 * `validateGraph` accepts plans (the fuzz test in test/engine/hardening.validation.test.ts holds
 * it to that); the throws below are for callers that skipped validation.
 */
export function planRun(graph: GraphDocument, registry: NodeRegistry, targets?: readonly string[]): RunPlan {
  const ids = Object.keys(graph.nodes);
  const consumers = new Map<string, string[]>();
  for (const id of ids) {
    for (const value of Object.values(graph.nodes[id]!.inputs ?? {})) {
      for (const link of linksOf(value)) {
        const list = consumers.get(link.node) ?? [];
        list.push(id);
        consumers.set(link.node, list);
      }
    }
  }
  let wanted = targets?.length ? [...targets] : ids.filter((id) => registry.get(graph.nodes[id]!.type)?.output === true);
  if (!wanted.length) wanted = ids.filter((id) => !consumers.has(id));
  for (const t of wanted) if (typeof t !== 'string' || !Object.hasOwn(graph.nodes, t)) throw new Error(`unknown target node ${quoteText(t)}`);

  // Ancestors of the targets.
  const needed = new Set<string>();
  const stack = [...wanted];
  while (stack.length) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    for (const value of Object.values(graph.nodes[id]!.inputs ?? {})) for (const link of linksOf(value)) stack.push(link.node);
  }

  // Kahn's algorithm over needed nodes; a queue seeded in file order keeps the order stable.
  const fileIndex = new Map(ids.map((id, i) => [id, i]));
  const indegree = new Map<string, number>();
  const depsOf = new Map<string, string[]>();
  for (const id of needed) {
    const deps: string[] = [];
    for (const value of Object.values(graph.nodes[id]!.inputs ?? {})) {
      for (const link of linksOf(value)) if (!deps.includes(link.node)) deps.push(link.node);
    }
    depsOf.set(id, deps);
    indegree.set(id, deps.length);
  }
  const ready = ids.filter((id) => needed.has(id) && indegree.get(id) === 0);
  const order: string[] = [];
  for (let head = 0; head < ready.length; head++) {
    const id = ready[head]!;
    order.push(id);
    const next: string[] = [];
    const cs = consumers.get(id) ?? [];
    for (const c of cs.length > 1 ? new Set(cs) : cs) {
      if (!needed.has(c)) continue;
      const d = indegree.get(c)! - 1;
      indegree.set(c, d);
      if (d === 0) next.push(c);
    }
    if (next.length > 1) next.sort((a, b) => fileIndex.get(a)! - fileIndex.get(b)!);
    ready.push(...next);
  }
  if (order.length !== needed.size) throw new Error('graph has a cycle (validate it first)');

  const nodes = new Map<string, PlannedNode>();
  const streamPorts = new Set<string>();
  const readers = new Map<string, number>();
  for (const id of order) {
    const g = graph.nodes[id]!;
    const def = registry.get(g.type);
    if (!def) throw new Error(`unknown node type "${g.type}" (validate the graph first)`);
    const resolved = registry.resolveParams(g.type, g.params);
    if (!resolved.ok) throw new Error(`node ${id}: invalid params (validate the graph first)`);
    // Keyed by the file's port names: no prototype, so no name can reach Object.prototype.
    const links: Record<string, readonly Link[]> = Object.create(null);
    let mapped = false;
    for (const [port, value] of Object.entries(g.inputs ?? {})) {
      const ls = linksOf(value);
      links[port] = ls;
      for (const l of ls) {
        const key = `${l.node}.${l.output}`;
        readers.set(key, (readers.get(key) ?? 0) + 1);
        if (streamPorts.has(key) && !def.inputs[port]?.stream) mapped = true;
      }
    }
    for (const [port, spec] of Object.entries(def.outputs as Record<string, OutputSpec>)) if (spec.stream || mapped) streamPorts.add(`${id}.${port}`);
    let disabled = g.disabled === true;
    for (const d of depsOf.get(id)!) disabled ||= nodes.get(d)!.disabled;
    nodes.set(id, { id, def, params: resolved.params, links, deps: depsOf.get(id)!, mapped, disabled });
  }
  return { order, nodes, streamPorts, readers, targets: wanted };
}
