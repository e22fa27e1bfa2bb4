import { isProviderChoice } from '../../core/wire/providers.ts';

// The execution providers a graph or a node can ask for: the engine's own list (core/wire).
export { PROVIDER_CHOICES, isProviderChoice, type ProviderChoice } from '../../core/wire/providers.ts';

/** How a `provider` value reads on a badge or in a menu: itself when known, else marked as not valid. */
export function providerLabel(value: unknown): string {
  if (isProviderChoice(value)) return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return `${text.length > 20 ? text.slice(0, 19) + '…' : text} (not valid)`;
}
