import type { ProviderChoice } from '../graph/providers.ts';
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
  /** The node's own `provider` pin from the file. */
  readonly provider: ProviderChoice | undefined;
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
  // Works on node indices (file order) so the passes below are array reads, not string-keyed
  // map lookups; ids are looked up once, here.
  const ids = Object.keys(graph.nodes);
  const n = ids.length;
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set(ids[i]!, i);
  const inputsOf: [string, readonly Link[]][][] = new Array(n);
  const depsOf: number[][] = new Array(n);
  const consumers: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    const entries = Object.entries(graph.nodes[ids[i]!]!.inputs ?? {}).map(([port, value]): [string, readonly Link[]] => [port, linksOf(value)]);
    inputsOf[i] = entries;
    const deps: number[] = [];
    // A Set only for wide nodes: a fan-in of 10,000 links would make `includes` quadratic.
    let seen: Set<number> | undefined;
    for (const [, links] of entries) {
      for (const link of links) {
        const d = indexOf.get(link.node);
        if (d === undefined) throw new Error(`node ${quoteText(ids[i])} links to unknown node ${quoteText(link.node)} (validate the graph first)`);
        if (seen ? seen.has(d) : deps.includes(d)) continue;
        deps.push(d);
        if (seen) seen.add(d);
        else if (deps.length > 16) seen = new Set(deps);
        consumers[d]!.push(i);
      }
    }
    depsOf[i] = deps;
  }
  let wanted = targets?.length ? [...targets] : ids.filter((id) => registry.get(graph.nodes[id]!.type)?.output === true);
  if (!wanted.length) wanted = ids.filter((_, i) => consumers[i]!.length === 0);
  for (const t of wanted) if (typeof t !== 'string' || !Object.hasOwn(graph.nodes, t)) throw new Error(`unknown target node ${quoteText(t)}`);

  // Ancestors of the targets.
  const needed = new Uint8Array(n);
  let neededCount = 0;
  const stack = wanted.map((id) => indexOf.get(id)!);
  while (stack.length) {
    const i = stack.pop()!;
    if (needed[i]) continue;
    needed[i] = 1;
    neededCount++;
    for (const d of depsOf[i]!) if (!needed[d]) stack.push(d);
  }

  // Kahn's algorithm over needed nodes; a queue seeded in file order keeps the order stable.
  const indegree = new Int32Array(n);
  const ready: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!needed[i]) continue;
    indegree[i] = depsOf[i]!.length;
    if (indegree[i] === 0) ready.push(i);
  }
  const order: string[] = [];
  for (let head = 0; head < ready.length; head++) {
    const i = ready[head]!;
    order.push(ids[i]!);
    const first = ready.length;
    for (const c of consumers[i]!) if (needed[c] && --indegree[c]! === 0) ready.push(c);
    // Indices are file positions: sorting the newly ready ones keeps ties in file order.
    if (ready.length - first > 1) {
      const next = ready.splice(first).sort((a, b) => a - b);
      for (const c of next) ready.push(c);
    }
  }
  if (order.length !== neededCount) throw new Error('graph has a cycle (validate it first)');

  const nodes = new Map<string, PlannedNode>();
  const disabledAt = new Uint8Array(n);
  const streamPorts = new Set<string>();
  const readers = new Map<string, number>();
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k]!;
    const id = ids[i]!;
    const g = graph.nodes[id]!;
    const def = registry.get(g.type);
    if (!def) throw new Error(`unknown node type "${g.type}" (validate the graph first)`);
    const resolved = registry.resolveParams(g.type, g.params);
    if (!resolved.ok) throw new Error(`node ${id}: invalid params (validate the graph first)`);
    // Keyed by the file's port names: no prototype, so no name can reach Object.prototype.
    const links: Record<string, readonly Link[]> = Object.create(null);
    let mapped = false;
    for (const [port, ls] of inputsOf[i]!) {
      links[port] = ls;
      const streamInput = def.inputs[port]?.stream;
      for (const l of ls) {
        const key = `${l.node}.${l.output}`;
        readers.set(key, (readers.get(key) ?? 0) + 1);
        if (!mapped && !streamInput && streamPorts.has(key)) mapped = true;
      }
    }
    for (const [port, spec] of Object.entries(def.outputs as Record<string, OutputSpec>)) if (spec.stream || mapped) streamPorts.add(`${id}.${port}`);
    let disabled = g.disabled === true;
    const deps = depsOf[i]!;
    for (const d of deps) if (disabledAt[d]) disabled = true;
    disabledAt[i] = disabled ? 1 : 0;
    nodes.set(id, { id, def, params: resolved.params, links, deps: deps.map((d) => ids[d]!), mapped, disabled, provider: g.provider });
  }
  return { order, nodes, streamPorts, readers, targets: wanted };
}
