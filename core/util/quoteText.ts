import { summarizeValue } from './summarizeValue.ts';

/**
 * User text for a message: a string quoted and cut to `max` characters (so a 1 MB name cannot
 * flood the output), anything else summarized.
 */
export function quoteText(text: unknown, max = 200): string {
  if (typeof text !== 'string') return summarizeValue(text);
  return text.length > max ? `"${text.slice(0, max)}…" (${text.length} characters)` : `"${text}"`;
}
