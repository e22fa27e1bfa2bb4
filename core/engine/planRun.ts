import type { ProviderChoice } from '../graph/providers.ts';
import type { GraphDocument, Link } from '../graph/GraphDocument.ts';
import { linksOf } from '../graph/GraphDocument.ts';
import { quoteText } from '../util/quoteText.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import { indexGraph } from '../graph/indexGraph.ts';
import type { CheckedGraph } from '../graph/validateSemantics.ts';
import type { GraphIndex } from '../graph/indexGraph.ts';
import type { AnyNodeDefinition, OutputSpec } from '../plugin/NodeDefinition.ts';

/** One planned node: its definition, resolved params and wiring. */
export interface PlannedNode {
  readonly id: string;
  readonly def: AnyNodeDefinition;
  readonly params: Record<string, unknown>;
  /** Input port → links, in link order. */
  readonly links: Readonly<Record<string, readonly Link[]>>;
  /** The same links as a list of ports in file order (what the executor walks). */
  readonly inputs: readonly PlannedInput[];
  /** Node ids this one reads from (deduplicated). */
  readonly deps: readonly string[];
  /** Runs once per streamed value because a plain input is fed by a stream. */
  readonly mapped: boolean;
  /** Disabled in the file, or downstream of a disabled node. */
  readonly disabled: boolean;
  /** The node's own `provider` pin from the file. */
  readonly provider: ProviderChoice | undefined;
}

/** One wired input port of a planned node. */
export interface PlannedInput {
  readonly port: string;
  readonly links: readonly Link[];
}

/**
 * A PlannedNode whose `links` record and `deps` list are built on first read: the executor walks
 * `inputs`, and a null-prototype record per node (a dictionary-mode object, slow to build and to
 * iterate) plus an id list per node were a measurable share of planning a 10,000-node graph.
 */
class Planned implements PlannedNode {
  #links: Record<string, readonly Link[]> | undefined;
  #deps: readonly string[] | undefined;
  readonly #index: GraphIndex;
  readonly #at: number;

  constructor(
    readonly id: string,
    readonly def: AnyNodeDefinition,
    readonly params: Record<string, unknown>,
    readonly inputs: readonly PlannedInput[],
    readonly mapped: boolean,
    readonly disabled: boolean,
    readonly provider: ProviderChoice | undefined,
    index: GraphIndex,
    at: number,
  ) {
    this.#index = index;
    this.#at = at;
  }

  get links(): Readonly<Record<string, readonly Link[]>> {
    if (this.#links) return this.#links;
    // Keyed by the file's port names: no prototype, so no name can reach Object.prototype.
    const links: Record<string, readonly Link[]> = Object.create(null);
    for (const { port, links: ls } of this.inputs) links[port] = ls;
    return (this.#links = links);
  }

  get deps(): readonly string[] {
    if (this.#deps) return this.#deps;
    const { ids, depStart, depList } = this.#index;
    const deps: string[] = [];
    for (let j = depStart[this.#at]!; j < depStart[this.#at + 1]!; j++) deps.push(ids[depList[j]!]!);
    return (this.#deps = deps);
  }
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
 *
 * `checked` is what validation learned about this very document (checkGraph); Engine.run passes
 * it so the links are not indexed and the params not resolved a second time.
 */
export function planRun(graph: GraphDocument, registry: NodeRegistry, targets?: readonly string[], checked?: CheckedGraph): RunPlan {
  const { index, defs, params } = checked ?? checkForPlan(graph, registry);
  const { ids, indexOf, depStart, depList, consumerStart } = index;
  const n = ids.length;
  let wanted = targets?.length ? [...targets] : ids.filter((_, i) => defs[i]?.output === true);
  if (!wanted.length) wanted = ids.filter((_, i) => consumerStart[i + 1] === consumerStart[i]);
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
    for (let j = depStart[i]!; j < depStart[i + 1]!; j++) if (!needed[depList[j]!]) stack.push(depList[j]!);
  }

  // The needed nodes are closed under "reads from", so the whole graph's order (ties in file
  // order) restricted to them is the order Kahn's algorithm gives on them alone.
  const ready: number[] = [];
  for (let k = 0; k < index.order.length; k++) if (needed[index.order[k]!]) ready.push(index.order[k]!);
  if (ready.length !== neededCount) throw new Error('graph has a cycle (validate it first)');

  const order: string[] = new Array(ready.length);
  const nodes = new Map<string, PlannedNode>();
  const disabledAt = new Uint8Array(n);
  const streamPorts = new Set<string>();
  const readerCounts = new Map<string, number>();
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k]!;
    const id = ids[i]!;
    order[k] = id;
    const g = graph.nodes[id]!;
    const def = defs[i];
    if (!def) throw new Error(`unknown node type "${g.type}" (validate the graph first)`);
    if (!params[i]) throw new Error(`node ${id}: invalid params (validate the graph first)`);
    const wired: PlannedInput[] = [];
    let mapped = false;
    const inputs = g.inputs;
    for (const port in inputs) {
      if (!Object.hasOwn(inputs, port)) continue;
      const ls = linksOf(inputs[port]);
      wired.push({ port, links: ls });
      // Only streams make a node mapped; without any, no port key needs building.
      if (streamPorts.size && !mapped && !def.inputs[port]?.stream) {
        for (const l of ls) if (streamPorts.has(`${l.node}.${l.output}`)) mapped = true;
      }
    }
    const streamed = streamOutputs(def, mapped);
    for (let j = 0; j < streamed.length; j++) streamPorts.add(`${id}.${streamed[j]}`);
    let disabled = g.disabled === true;
    for (let j = depStart[i]!; j < depStart[i + 1]!; j++) if (disabledAt[depList[j]!]) disabled = true;
    disabledAt[i] = disabled ? 1 : 0;
    nodes.set(id, new Planned(id, def, params[i]!, wired, mapped, disabled, g.provider, index, i));
  }
  let readers: Map<string, number> | undefined;
  return {
    order,
    nodes,
    streamPorts,
    // Counted on first use: the executor needs it for stream ports only, and building a key per
    // link costs time on graphs without any.
    get readers(): ReadonlyMap<string, number> {
      if (readers) return readers;
      readers = readerCounts;
      for (const id of order) for (const { links } of nodes.get(id)!.inputs) for (const l of links) {
        const key = `${l.node}.${l.output}`;
        readers.set(key, (readers.get(key) ?? 0) + 1);
      }
      return readers;
    },
    targets: wanted,
  };
}

/** A node's output ports that carry streams: the streamed ones, or all of them when it is mapped. */
function streamOutputs(def: AnyNodeDefinition, mapped: boolean): readonly string[] {
  const outputs = def.outputs as Record<string, OutputSpec>;
  if (mapped) return Object.keys(outputs);
  let streamed = streamedOutputs.get(def);
  if (!streamed) streamedOutputs.set(def, (streamed = Object.keys(outputs).filter((port) => outputs[port]!.stream)));
  return streamed;
}
const streamedOutputs = new WeakMap<AnyNodeDefinition, readonly string[]>();

/**
 * What planning needs and validation would have learned, for a caller that planned without it:
 * the same index, definitions and resolved params. A link to a missing node throws here; an
 * unknown type or invalid params (left out) throw in planRun if the node is needed.
 */
function checkForPlan(graph: GraphDocument, registry: NodeRegistry): CheckedGraph {
  const index = indexGraph(graph.nodes);
  const { ids, indexOf } = index;
  const defs: (AnyNodeDefinition | undefined)[] = new Array(ids.length);
  const params: (Record<string, unknown> | undefined)[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const g = graph.nodes[id]!;
    for (const value of Object.values(g.inputs ?? {})) {
      for (const link of linksOf(value)) {
        if (!indexOf.has(link.node)) throw new Error(`node ${quoteText(id)} links to unknown node ${quoteText(link.node)} (validate the graph first)`);
      }
    }
    defs[i] = registry.get(g.type);
    if (!defs[i]) continue;
    const resolved = registry.resolveParams(g.type, g.params);
    if (resolved.ok) params[i] = resolved.params;
  }
  return { index, defs: defs as AnyNodeDefinition[], params: params as Record<string, unknown>[] };
}
