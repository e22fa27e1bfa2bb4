// ESM resolve hook: `import … from 'tessera'` (and 'tessera/kernels', 'tessera/plugins' …, the
// keys of the engine's package.json "exports") resolves to the engine that runs, whatever the
// importer has installed, so a plugin shares the engine's module instances (one inversify, one
// registry). Every other bare import resolves normally: a plugin gets only the packages it
// declares itself, never the engine's own dependencies (those would hide an undeclared one).
let exportsMap = {};
let root = '';

export function initialize(data) {
  root = data.root;
  exportsMap = data.exports;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'tessera' || specifier.startsWith('tessera/')) {
    const key = specifier === 'tessera' ? '.' : './' + specifier.slice('tessera/'.length);
    const target = exportsMap[key];
    // Hand the file URL on down the chain so the TypeScript loader (tsx) resolves and loads it.
    if (typeof target === 'string') return next(new URL(target, root).href, context);
  }
  return next(specifier, context);
}
