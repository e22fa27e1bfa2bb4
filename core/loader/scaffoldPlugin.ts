import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { ENGINE_API_VERSION } from '../version.ts';

/** Files of a new plugin package, by relative path. Pure. */
export function pluginTemplate(name: string, tesseraRoot: string, pluginDir: string): Record<string, string> {
  const id = name.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9_.-]/g, '-');
  const cli = relative(pluginDir, join(tesseraRoot, 'bin/tessera.mjs')) || 'bin/tessera.mjs';
  const pkg = {
    name,
    version: '0.1.0',
    description: `tessera plugin ${name}`,
    type: 'module',
    keywords: ['tessera-plugin'],
    tessera: { engine: `^${ENGINE_API_VERSION}`, entry: './index.ts', displayName: id },
    scripts: { test: `node ${JSON.stringify(cli).slice(1, -1)} plugin test .` },
  };
  return {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    'index.ts': `import { definePlugin } from 'tessera';
import { Scale } from './nodes/Scale.ts';

/** Entry point: tessera loads this default export (see "tessera" in package.json). */
export default definePlugin({ name: ${JSON.stringify(name)}, version: '0.1.0', nodes: [Scale] });
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

A tessera plugin. \`npm test\` runs its tests through the real engine; \`tessera nodes --plugin .\` lists
its nodes, and \`tessera run graph.json --plugin .\` runs graphs that use them. See tessera's
docs/plugins.md for the node-definition reference and versioning rules.
`,
  };
}

/** Writes a new plugin package into `dir` (which must not exist or be empty). */
export async function scaffoldPlugin(name: string, dir: string, tesseraRoot: string): Promise<string[]> {
  if (!/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(name)) throw new Error(`"${name}" is not a valid npm package name (lower case, digits, - . _ ~)`);
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length) throw new Error(`${target} exists and is not empty`);
  const files = pluginTemplate(name, tesseraRoot, target);
  for (const [rel, text] of Object.entries(files)) await writeFileAtomic(join(target, rel), text);
  return Object.keys(files);
}
