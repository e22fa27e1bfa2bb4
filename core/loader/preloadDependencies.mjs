// Loads the engine's large dependencies before the TypeScript loader (tsx) is registered.
// Loader hooks cost about a millisecond per module; inversify alone is ~370 small ES modules,
// which made `import 'tessera'` take over a second. Modules loaded here are cached by URL, so
// the engine's own imports of them later get these instances.
await Promise.all([import('inversify'), import('rxjs'), import('ajv/dist/2020.js'), import('ajv-formats'), import('semver'), import('commander')]);
