import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

// The layering rules of docs/architecture.md, checked with dependency-cruiser over the real
// tree: no cycles, core ↛ plugins/app, kernels standalone, plugins only through public modules,
// a Node-free editor bundle.
const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as { forbidden: { name: string }[] };

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

function cruise(dirs: string[], cwd = root): { violations: Violation[]; modules: number } {
  const r = spawnSync(process.execPath, [bin, ...dirs, '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(r.stdout, `dependency-cruiser printed nothing: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: out.summary.violations, modules: out.summary.totalCruised };
}

test('the rules are all there', () => {
  assert.equal(config.forbidden.map((r) => r.name).sort(), ['core-not-to-plugins', 'kernels-standalone', 'no-cycles', 'plugins-not-into-each-other', 'plugins-through-public-api', 'ui-node-free']);
});

test('the tree breaks none of them', () => {
  const { violations, modules } = cruise(['app', 'core', 'plugins', 'kernels', 'ui/src', 'bin']);
  assert.ok(modules > 150, `${modules} modules cruised`);
  const lines = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
  assert.equal(lines, []);
});

test('the check can fail: a cycle, a core → plugins edge and a cross-plugin import are each caught', () => {
  // A throw-away tree with the project's folder names, cruised with the same config.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-depcheck-'));
  try {
    const file = (path: string, text: string) => {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    file('core/a.ts', "import { b } from './b.ts';\nimport { p } from '../plugins/x/p.ts';\nexport const a = b + p;\n");
    file('core/b.ts', "import { a } from './a.ts';\nexport const b = () => a;\n");
    file('plugins/x/p.ts', "import { q } from '../y/q.ts';\nexport const p = q;\n");
    file('plugins/y/q.ts', 'export const q = 1;\n');
    file('tsconfig.json', '{ "compilerOptions": { "allowImportingTsExtensions": true, "noEmit": true } }\n');
    const rules = new Set(cruise(['core', 'plugins'], dir).violations.map((v) => v.rule.name));
    assert.ok(rules.has('no-cycles') && rules.has('core-not-to-plugins') && rules.has('plugins-not-into-each-other'), [...rules].join(', '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
