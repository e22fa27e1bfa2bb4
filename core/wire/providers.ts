/**
 * Values of a graph's, a node's and a run's `provider` (which onnxruntime execution provider the
 * sessions a node opens ask for). 'auto' means webgpu where it works, else cpu; an unavailable
 * provider falls back to cpu. kernels/runtime/provider.ts PROVIDER_SETTINGS holds the same list
 * (core does not import kernels; test/engine/provider.test.ts checks they agree). Node-free: the
 * editor's bundle imports it too.
 */
export const PROVIDER_CHOICES = ['cpu', 'webgpu', 'auto'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

export function isProviderChoice(value: unknown): value is ProviderChoice {
  return typeof value === 'string' && (PROVIDER_CHOICES as readonly string[]).includes(value);
}
