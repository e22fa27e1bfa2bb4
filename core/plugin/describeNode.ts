import type { AnyNodeDefinition, InputSpec, OutputSpec } from './NodeDefinition.ts';
import type { JsonSchema } from './jsonSchema.ts';

/** A node definition as plain JSON: what `tessera nodes --json` prints and the editor reads. */
export interface NodeDescription {
  type: string;
  title: string;
  category: string;
  description: string;
  version: string;
  plugin: string;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, OutputSpec>;
  params: JsonSchema;
  output: boolean;
  cache: 'deterministic' | 'never' | 'fingerprint';
  deprecated: boolean;
  experimental: boolean;
}

export function describeNode(def: AnyNodeDefinition, plugin: string): NodeDescription {
  const cache = def.cache === undefined || def.cache === 'deterministic' ? 'deterministic' : def.cache === 'never' ? 'never' : 'fingerprint';
  return {
    type: def.type,
    title: def.title,
    category: def.category,
    description: def.description,
    version: def.version,
    plugin,
    inputs: def.inputs,
    outputs: def.outputs,
    params: def.params ?? { type: 'object', properties: {} },
    output: def.output === true,
    cache,
    deprecated: def.deprecated === true,
    experimental: def.experimental === true,
  };
}
