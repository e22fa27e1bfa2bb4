// ESM resolve hook for plugins that live outside this repository:
// - `import … from 'tessera'` (and 'tessera/kernels', 'tessera/plugins') resolves to this
//   engine's own modules, so the plugin shares the engine's module instances and needs no install;
// - a bare import the plugin cannot resolve itself (uvu, rxjs …) falls back to the engine's
//   node_modules, so a freshly scaffolded plugin tests offline. The plugin's own dependencies win.
let exportsMap = {};
let root = '';

export function initialize(data) {
  root = data.root;
  exportsMap = data.exports;
}

const isBare = (s) => !s.startsWith('.') && !s.startsWith('/') && !/^[a-z]+:/i.test(s);

export async function resolve(specifier, context, next) {
  if (specifier === 'tessera' || specifier.startsWith('tessera/')) {
    const key = specifier === 'tessera' ? '.' : './' + specifier.slice('tessera/'.length);
    const target = exportsMap[key];
    // Hand the file URL on down the chain so the TypeScript loader (tsx) resolves and loads it.
    if (typeof target === 'string') return next(new URL(target, root).href, context);
  }
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!isBare(specifier) || error?.code !== 'ERR_MODULE_NOT_FOUND' || !context.parentURL || context.parentURL.startsWith(root)) throw error;
    return next(specifier, { ...context, parentURL: new URL('package.json', root).href });
  }
}
