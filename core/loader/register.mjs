// `node --import <tessera>/core/loader/register.mjs …`: TypeScript via tsx plus `'tessera'`
// resolution (used by bin/tessera.mjs, the tests, and `tessera plugin test`).
import './preloadDependencies.mjs';
import { register } from 'node:module';
import { readFileSync } from 'node:fs';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
register('./tesseraResolveHook.mjs', import.meta.url, { data: { root: root.href, exports: pkg.exports } });
// registerTesseraResolution() reads this, so the hook is not chained twice.
globalThis[Symbol.for('tessera.resolveHook')] = root.href;
