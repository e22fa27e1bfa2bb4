/**
 * The execution providers a graph or a node can ask for (the `provider` field of the graph file):
 * the same list as core/graph/providers.ts, which the browser bundle cannot import (ui/ reaches
 * core/wire/ only); test/editor/providerFile.test.ts checks the two agree.
 */
export const PROVIDER_CHOICES = ['cpu', 'webgpu', 'auto'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

export function isProviderChoice(value: unknown): value is ProviderChoice {
  return typeof value === 'string' && (PROVIDER_CHOICES as readonly string[]).includes(value);
}

/** How a `provider` value reads on a badge or in a menu: itself when known, else marked as not valid. */
export function providerLabel(value: unknown): string {
  if (isProviderChoice(value)) return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return `${text.length > 20 ? text.slice(0, 19) + '…' : text} (not valid)`;
}
