/**
 * tessera's layering rules (docs/architecture.md), checked by test/architecture/dependencies.test.ts
 * and `npm run depcheck`. The folder boundary is the API boundary.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No import cycles anywhere.', from: {}, to: { circular: true } },
    {
      name: 'core-not-to-plugins',
      severity: 'error',
      comment: 'core/ never imports plugins/ or app/: the composition root (app/) wires the built-ins.',
      from: { path: '^core/' },
      to: { path: '^(plugins|app)/' },
    },
    {
      name: 'kernels-standalone',
      severity: 'error',
      comment: 'kernels/ is a library of its own: no engine, no plugins, no app.',
      from: { path: '^kernels/' },
      to: { path: '^(core|plugins|app|ui)/' },
    },
    {
      name: 'plugins-not-into-each-other',
      severity: 'error',
      comment: "A plugin imports only public modules ('tessera', 'tessera/kernels', 'tessera/image', another plugin's index.ts as 'tessera/<name>'), never another plugin's files.",
      from: { path: '^plugins/([^/]+)/' },
      to: { path: '^plugins/[^/]+/', pathNot: '^plugins/($1/|[^/]+/index\\.ts$)' },
    },
    {
      name: 'plugins-through-public-api',
      severity: 'error',
      comment: "A plugin reaches the engine through 'tessera' (core/index.ts) and the other public modules only.",
      from: { path: '^plugins/' },
      to: { path: '^(core|app)/', pathNot: '^core/(index|image/index)\\.ts$' },
    },
    {
      name: 'ui-node-free',
      severity: 'error',
      comment: 'The editor bundle runs in the browser: it may import only Node-free shared modules.',
      from: { path: '^ui/' },
      to: { path: '^(core|plugins|kernels|app)/', pathNot: '^core/wire/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^test/fixtures/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'], extensions: ['.ts', '.mjs', '.js', '.json'] },
  },
};
