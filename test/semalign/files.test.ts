import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSample, writeSample } from '../../plugins/semalign/files.ts';
import { fixtures, tempDir } from './helpers.ts';

test('writeSample writes every file whole and leaves no temp files', () => {
  const root = tempDir('files-ok');
  const [s] = fixtures(1, [2]);
  const entry = writeSample(root, s!);
  for (const f of entry.files) assert.is(readFileSync(join(root, f.path)).length, f.bytes, f.path);
  assert.not.ok(readdirSync(join(root, s!.annotation.split)).some((n) => n.endsWith('.tmp')));
});

test('a file that cannot be written: the error names it, and no half file or temp file is left', () => {
  const root = tempDir('files-fail');
  const [s] = fixtures(1, [2]);
  const [first, second] = encodeSample(s!);
  // Something in the way of the second file: the rename onto it fails.
  mkdirSync(join(root, second!.path), { recursive: true });
  assert.throws(() => writeSample(root, s!), (e: Error & { code?: string }) => e.message.startsWith(`cannot write ${join(root, second!.path)}: `) && typeof e.code === 'string');
  assert.ok(existsSync(join(root, first!.path)), 'files before it are whole');
  assert.not.ok(readdirSync(join(root, s!.annotation.split)).some((n) => n.endsWith('.tmp')), 'a temp file was left');
});

test.run();
