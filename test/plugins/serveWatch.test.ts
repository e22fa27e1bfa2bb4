import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The reload workflow docs/plugins.md gives for `serve`: Node's own watcher restarts the server
// when the plugin folder changes, and the edited plugin's nodes are served.
const root = new URL('../../', import.meta.url).pathname;
const plugin = join(mkdtempSync(join(tmpdir(), 'tessera-watch-')), 'good');
cpSync(join(root, 'test/fixtures/plugins/good'), plugin, { recursive: true });

async function nodeTypes(url: string): Promise<string[] | undefined> {
  try {
    const r = await fetch(`${url}api/nodes`);
    return r.ok ? ((await r.json()) as { type: string }[]).map((n) => n.type) : undefined;
  } catch {
    return undefined; // the server is restarting
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('node --watch-path restarts serve on a plugin edit, and the new node is served', async () => {
  const child = spawn(process.execPath, ['--watch-path', plugin, '--watch-preserve-output', join(root, 'bin/tessera.mjs'), 'serve', '--port', '0', '--plugin', plugin], { cwd: plugin, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  try {
    // Port 0: each start prints its own URL; take the newest.
    const url = () => Promise.resolve([...out.matchAll(/serving (http:\/\/\S+)/g)].at(-1)?.[1]);
    const first = await until('the first start', url);
    assert.ok((await until('the node list', () => nodeTypes(first))).includes('good/Triple'));
    const source = readFileSync(join(plugin, 'index.ts'), 'utf8');
    writeFileSync(
      join(plugin, 'index.ts'),
      source.replace("nodes: [Triple] });", "nodes: [Triple, Quad] });").replace(
        "export default",
        "const Quad = defineNode({ type: 'good/Quad', title: 'Quad', category: 'good', description: 'x * 4', version: '1.0.0', inputs: { x: { type: 'NUMBER' } }, outputs: { y: { type: 'NUMBER' } }, execute: ({ inputs }) => ({ y: inputs.x * 4 }) });\n\nexport default",
      ),
    );
    const types = await until('the restarted server with the new node', async () => {
      const u = await url();
      const t = u && u !== first ? await nodeTypes(u) : undefined;
      return t?.includes('good/Quad') ? t : undefined;
    });
    assert.ok(types.includes('good/Triple'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test.run();
