import type { InputSpec, NodeDefinition, OutputSpec } from './NodeDefinition.ts';
import type { JsonSchema } from './jsonSchema.ts';

/**
 * Declares a node type. Input, output and param types flow from the specs into `execute`, so
 * `ctx.inputs.a` is a `number` when input `a` is a NUMBER port.
 *
 * @example
 * export const Add = defineNode({
 *   type: 'math/Add', title: 'Add', category: 'math', description: 'a + b', version: '1.0.0',
 *   inputs: { a: { type: 'NUMBER' }, b: { type: 'NUMBER' } },
 *   outputs: { sum: { type: 'NUMBER' } },
 *   execute: ({ inputs }) => ({ sum: inputs.a + inputs.b }),
 * });
 */
export function defineNode<
  const I extends Record<string, InputSpec>,
  const O extends Record<string, OutputSpec>,
  const S extends JsonSchema = { type: 'object'; properties: Record<never, never> },
>(definition: NodeDefinition<I, O, S>): NodeDefinition<I, O, S> {
  return definition;
}
