import { splitPortType } from '../wire/portTypes.ts';
import { summarizeValue } from '../util/summarizeValue.ts';
import { NodeContractError } from './errors.ts';

/**
 * Cheap shape checks of values at node boundaries, one per built-in port type, so a wrong value
 * fails at the node that produced it ("node b output image: expected IMAGE …, got a string")
 * instead of crashing a consumer with `Cannot read properties of undefined`. O(1) per value:
 * lengths are compared, pixels and elements are never read. Types without a rule (ANY, JSON,
 * MODEL, LOSS, DATASET, a plugin's own) pass.
 */
const RULES: ReadonlyMap<string, { expected: string; ok: (v: unknown) => boolean }> = new Map([
  // NaN passes: built-ins use it for "no value" (a loss without a preview sample). ±Infinity does not.
  ['NUMBER', { expected: 'a number (NaN allowed, not ±Infinity)', ok: (v: unknown) => typeof v === 'number' && v !== Infinity && v !== -Infinity }],
  ['INT', { expected: 'a safe integer', ok: (v: unknown) => Number.isSafeInteger(v) }],
  ['STRING', { expected: 'a string', ok: (v: unknown) => typeof v === 'string' }],
  ['BOOLEAN', { expected: 'a boolean', ok: (v: unknown) => typeof v === 'boolean' }],
  ['IMAGE', { expected: '{ width, height: positive integers, channels: 1|3|4, data: Uint8Array of width·height·channels bytes }', ok: isImage }],
  ['TENSOR', { expected: '{ shape: non-negative integers, data: typed array or array of product(shape) elements }', ok: isTensor }],
]);

type Rule = { expected: string; ok: (v: unknown) => boolean } | undefined;
/** The rules of a port type's members, split once per type (this runs for every output value). */
const rulesByType = new Map<string, readonly Rule[]>();
function rulesOf(type: string): readonly Rule[] {
  let rules = rulesByType.get(type);
  if (!rules) {
    rules = splitPortType(type).map((t) => RULES.get(t));
    if (rulesByType.size < 1024) rulesByType.set(type, rules);
  }
  return rules;
}

function isImage(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  const { width, height, channels, data } = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(width) && (width as number) > 0 &&
    Number.isSafeInteger(height) && (height as number) > 0 &&
    (channels === 1 || channels === 3 || channels === 4) &&
    (data instanceof Uint8Array || data instanceof Uint8ClampedArray) &&
    data.length === (width as number) * (height as number) * channels
  );
}

function isTensor(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  const { shape, data } = v as Record<string, unknown>;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return false;
  const isData = Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView));
  return isData && (data as ArrayLike<unknown>).length === shape.reduce((a: number, d: number) => a * d, 1);
}

/** Why `value` does not fit port type `type` (a union fits when any member does), or undefined. Pure. */
export function portValueProblem(type: string, value: unknown): string | undefined {
  const rules = rulesOf(type);
  if (rules.length === 0 || rules.some((r) => r === undefined || r.ok(value))) return undefined;
  return `expected ${type}: ${rules.map((r) => r!.expected).join(' or ')}; got ${describe(value)}`;
}

function describe(value: unknown): string {
  if (value && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    const shown = Object.entries(value as Record<string, unknown>).slice(0, 4).map(([k, v]) => `${k}: ${ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})` : summarizeValue(v)}`);
    return `{ ${shown.join(', ')}${Object.keys(value).length > 4 ? ', …' : ''} }`;
  }
  return summarizeValue(value);
}

/** A node as the checks need it: its id and definition's type and outputs. */
export interface CheckedNode {
  readonly id: string;
  readonly def: { readonly type: string; readonly outputs: Readonly<Record<string, { readonly type: string }>>; readonly checkPorts?: boolean };
}

/**
 * Checks the output values a node produced (a whole result, or one streamed partial): every key
 * must be a declared output port, and each value must fit its port type unless the node (or the
 * run) turned checks off. Throws a NodeContractError naming node, port, expected and got.
 */
export function checkOutputValues(node: CheckedNode, outputs: Record<string, unknown>, enabled: boolean): void {
  // for-in with an own-key check: the same keys as Object.entries, without an array per call.
  for (const port in outputs) {
    if (!Object.hasOwn(outputs, port)) continue;
    const value = outputs[port];
    const spec = Object.hasOwn(node.def.outputs, port) ? node.def.outputs[port] : undefined;
    if (!spec) {
      throw new NodeContractError(`node "${node.id}" (${node.def.type}) returned unknown output "${port}"; its outputs are ${Object.keys(node.def.outputs).map((p) => `"${p}"`).join(', ') || '(none)'}`);
    }
    if (!enabled || node.def.checkPorts === false) continue;
    const problem = portValueProblem(spec.type, value);
    if (problem) throw new NodeContractError(`node "${node.id}" (${node.def.type}) output "${port}": ${problem}`);
  }
}
