import { register } from 'node:module';
import { readFileSync } from 'node:fs';

let registered = false;

/**
 * Installs the resolve hook that maps `'tessera'` to this engine for every importer (once per
 * process). Called before importing plugins from outside the repository.
 */
export function registerTesseraResolution(): void {
  if (registered) return;
  registered = true;
  const root = new URL('../../', import.meta.url);
  // Already installed for this engine by register.mjs (bin/tessera.mjs, the test runner).
  if ((globalThis as Record<symbol, unknown>)[Symbol.for('tessera.resolveHook')] === root.href) return;
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { exports: Record<string, string> };
  register('./tesseraResolveHook.mjs', import.meta.url, { data: { root: root.href, exports: pkg.exports } });
}
