import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { ENGINE_API_VERSION } from '../version.ts';

/**
 * The engine's npm name. The public package named `tessera` is someone else's: a plugin installs
 * this engine under the dependency key `tessera` (so its imports stay `'tessera'` and `npx tessera`
 * runs the local bin), from a path or an `npm pack` tarball, never by the bare name.
 */
export const ENGINE_PACKAGE = 'tessera-engine';

/** Where the engine comes from: its folder or a tarball made by `npm pack`. */
export interface EngineSource {
  readonly engine: string;
}

/** The `file:` spec, relative to the plugin when the two are near each other. Pure. */
export function engineSpec(engine: string, pluginDir: string): string {
  const rel = relative(pluginDir, engine);
  return `file:${rel && !isAbsolute(rel) && rel.split(/[\\/]/).filter((p) => p === '..').length <= 2 ? rel : engine}`.replaceAll('\\', '/');
}

/** Version ranges of the tools the scaffold's scripts use, copied from this engine's package.json. */
function toolRanges(tesseraRoot: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(tesseraRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const all = { ...pkg.devDependencies, ...pkg.dependencies };
  const out: Record<string, string> = {};
  for (const name of ['typescript', 'uvu']) out[name] = all[name] ?? '*';
  return out;
}

/** The tsconfig of a new plugin: the engine's own compiler settings, no `paths` ('tessera' is an installed package). */
export const PLUGIN_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    skipLibCheck: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    types: ['node'],
  },
  include: ['**/*.ts'],
  exclude: ['node_modules', 'dist'],
};

/** Files of a new plugin package, by relative path. Pure apart from reading the engine's package.json. */
export function pluginTemplate(name: string, tesseraRoot: string, pluginDir: string, source: EngineSource = { engine: tesseraRoot }): Record<string, string> {
  const id = name.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9_.-]/g, '-');
  const pkg = {
    name,
    version: '0.1.0',
    description: `tessera plugin ${name}`,
    type: 'module',
    keywords: ['tessera-plugin'],
    tessera: { engine: `^${ENGINE_API_VERSION}`, entry: './index.ts', displayName: id },
    scripts: { test: 'tessera plugin test .', typecheck: 'tsc --noEmit -p .', pack: 'tessera plugin pack .' },
    // Consumers bring the engine; the alias names the engine's real package, never the public `tessera`.
    peerDependencies: { tessera: `npm:${ENGINE_PACKAGE}@^${ENGINE_API_VERSION}` },
    devDependencies: { tessera: engineSpec(resolve(source.engine), pluginDir), ...toolRanges(tesseraRoot) },
  };
  return {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    'tsconfig.json': JSON.stringify(PLUGIN_TSCONFIG, null, 2) + '\n',
    '.gitignore': 'node_modules/\n*.tgz\n',
    'index.ts': `import { definePlugin } from 'tessera';
import { Scale } from './nodes/Scale.ts';

/** Entry point: tessera loads this default export (see "tessera" in package.json). */
export default definePlugin({ name: ${JSON.stringify(name)}, version: '0.1.0', namespaces: [${JSON.stringify(id)}], nodes: [Scale] });
`,
    'nodes/Scale.ts': `import { defineNode } from 'tessera';

/** Example node: multiplies a number by the \`factor\` param. Replace it with your own. */
export const Scale = defineNode({
  type: '${id}/Scale',
  title: 'Scale',
  category: '${id}',
  description: 'Multiplies a number by a factor.',
  version: '1.0.0',
  inputs: { value: { type: 'NUMBER' } },
  outputs: { scaled: { type: 'NUMBER' } },
  params: { type: 'object', properties: { factor: { type: 'number', default: 2 } }, additionalProperties: false },
  execute: ({ inputs, params }) => ({ scaled: inputs.value * params.factor }),
});
`,
    'test/Scale.test.ts': `import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, collectRun } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';
import plugin from '../index.ts';

test('Scale runs through the real engine', async () => {
  const engine = await createEngine({ plugins: [...builtinPlugins, plugin] });
  const graph = {
    format: 'tessera-graph',
    version: 1,
    nodes: {
      n: { type: 'core/Number', params: { value: 21 } },
      s: { type: '${id}/Scale', params: { factor: 2 }, inputs: { value: { node: 'n', output: 'value' } } },
    },
  };
  const run = await collectRun(engine.run(graph));
  assert.is(run.status, 'done');
  assert.equal(run.results.s, { scaled: 42 });
});

test('bad params are refused before running', async () => {
  const engine = await createEngine({ plugins: [plugin] });
  const issues = engine.validate({ format: 'tessera-graph', version: 1, nodes: { s: { type: '${id}/Scale', params: { factor: 'x' } } } });
  assert.equal(issues.map((i) => i.code).sort(), ['invalid_params', 'missing_input']);
});

test.run();
`,
    'README.md': `# ${name}

A tessera plugin. The engine is a devDependency installed under the name \`tessera\` from a folder
or an \`npm pack\` tarball of tessera-engine (see \`devDependencies\` in package.json), so after
\`npm install\` every command below runs that local engine, offline:

\`\`\`sh
npm test                                  # tessera plugin test: type-check (tsc) + the uvu tests
npx tessera nodes --plugin .              # lists this plugin's nodes
npx tessera run graph.json --plugin .     # runs a graph that uses them
npx tessera plugin pack .                 # type-check, test, then npm pack
\`\`\`

Never run \`npx tessera\` before \`npm install\`: without a local engine npx would fetch the
unrelated public package named \`tessera\`. See tessera's docs/plugins.md for the node-definition
reference and the versioning rules.
`,
  };
}

/** Writes a new plugin package into `dir` (which must not exist or be empty). */
export async function scaffoldPlugin(name: string, dir: string, tesseraRoot: string, source?: EngineSource): Promise<string[]> {
  if (!/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(name)) throw new Error(`"${name}" is not a valid npm package name (lower case, digits, - . _ ~)`);
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length) throw new Error(`${target} exists and is not empty`);
  if (source && !existsSync(source.engine)) throw new Error(`--engine: no such folder or tarball: ${source.engine}`);
  const files = pluginTemplate(name, tesseraRoot, target, source);
  for (const [rel, text] of Object.entries(files)) await writeFileAtomic(join(target, rel), text);
  return Object.keys(files);
}
