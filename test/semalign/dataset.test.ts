import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSample, readManifest } from '../../plugins/semalign/dataset.ts';
import { generateToDisk } from '../../plugins/semalign/generate.ts';
import { DatasetError } from '../../plugins/semalign/validate.ts';
import { config, tempDir } from './helpers.ts';

let pristine = '';

/** A fresh copy of a small generated dataset to damage. */
async function copy(label: string): Promise<string> {
  if (!pristine) {
    pristine = tempDir('pristine');
    await generateToDisk(pristine, config({ kMin: 2, kMax: 3 }), { train: 3, val: 1 }, { workers: 0 });
  }
  const dir = tempDir(label);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

const ann = (dir: string) => join(dir, 'train/train-0000001.json');
const edit = (dir: string, f: (a: any) => void) => {
  const a = JSON.parse(readFileSync(ann(dir), 'utf8'));
  f(a);
  const text = JSON.stringify(a) + '\n';
  writeFileSync(ann(dir), text);
  // Keep the manifest's byte count in step so the annotation check itself is exercised.
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  m.samples[1].files.find((x: any) => x.path === 'train/train-0000001.json').bytes = Buffer.byteLength(text);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
};

async function loadAll(dir: string) {
  const m = await readManifest(dir);
  for (const e of m.samples) await loadSample(dir, e);
}

async function rejects(p: Promise<unknown>, re: RegExp) {
  try {
    await p;
  } catch (e) {
    assert.instance(e, Error);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

test('a valid dataset loads completely', async () => {
  const dir = await copy('ok');
  const m = await readManifest(dir);
  assert.is(m.counts.total, 4);
  for (const e of m.samples) {
    const s = await loadSample(dir, e);
    assert.is(s.refs.length, e.k);
    assert.is(s.annotation.id, e.id);
    assert.ok(s.loser && s.dipMask);
  }
});

test('corrupt PNG → error names the file', async () => {
  const dir = await copy('png');
  const f = join(dir, 'train/train-0000001_ref1.png');
  const bytes = readFileSync(f);
  bytes.fill(7, 40, 60); // same size, so the manifest size check passes and decoding must catch it
  writeFileSync(f, bytes);
  await rejects(loadAll(dir), /train\/train-0000001_ref1\.png: corrupt or unreadable PNG/);
});

test('annotation failing the schema → error names file and field', async () => {
  const dir = await copy('schema');
  edit(dir, (a) => (a.k = 9));
  await rejects(loadAll(dir), /train\/train-0000001\.json: k: fails semalign-annotation\.schema\.json: must be <= 8/);
  const dir2 = await copy('schema2');
  edit(dir2, (a) => (a.subjects[0].pose.flip = 'yes'));
  await rejects(loadAll(dir2), /train-0000001\.json: subjects\.0\.pose\.flip: .*must be boolean/);
});

test('correspondences outside the grid → error names the entry', async () => {
  const dir = await copy('grid');
  edit(dir, (a) => {
    const v = a.correspondence.owner.findIndex((o: number) => o >= 0);
    a.correspondence.refPatch[v] = 64; // 8×8 reference grid: 0..63
  });
  await rejects(loadAll(dir), /train-0000001\.json: correspondence\.refPatch\.\d+: 64 is outside the 8×8 reference grid/);
  const dir2 = await copy('grid2');
  edit(dir2, (a) => {
    const u = a.correspondence.refToTarget[0].findIndex((v: number) => v >= 0);
    a.correspondence.refToTarget[0][u] = 256;
  });
  await rejects(loadAll(dir2), /correspondence\.refToTarget\.0\.\d+: 256 is outside the 16×16 target grid/);
  const dir3 = await copy('grid3');
  edit(dir3, (a) => a.correspondence.owner.pop());
  await rejects(loadAll(dir3), /correspondence\.owner: has 255 entries, the target grid has 256/);
});

test('K out of range in the manifest → error names the field', async () => {
  const dir = await copy('k');
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  m.samples[0].k = 0;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  await rejects(readManifest(dir), /manifest\.json: samples\.0\.k: fails semalign-manifest\.schema\.json: must be >= 1/);
});

test('manifest that does not match its files → clear errors', async () => {
  const missing = await copy('missing');
  rmSync(join(missing, 'train/train-0000002_target.png'));
  await rejects(readManifest(missing), /manifest\.json: samples\.2\.files\.0: lists train\/train-0000002_target\.png, which does not exist/);
  const stray = await copy('stray');
  writeFileSync(join(stray, 'val/extra.png'), 'x');
  await rejects(readManifest(stray), /val\/extra\.png: is not listed in manifest\.json/);
  const size = await copy('size');
  writeFileSync(join(size, 'train/train-0000000_label.png'), Buffer.concat([readFileSync(join(size, 'train/train-0000000_label.png')), Buffer.from([0])]));
  await rejects(readManifest(size), /train\/train-0000000_label\.png: has \d+ bytes but manifest\.json \(samples\.0\.files\.1\.bytes\) says/);
  const kMismatch = await copy('kmm');
  const m = JSON.parse(readFileSync(join(kMismatch, 'manifest.json'), 'utf8'));
  m.samples[1].k = m.samples[1].k === 2 ? 3 : 2;
  writeFileSync(join(kMismatch, 'manifest.json'), JSON.stringify(m));
  await rejects(loadAll(kMismatch), /train-0000001\.json: k: is \d but manifest\.json lists k = \d/);
  const noManifest = await copy('nomanifest');
  rmSync(join(noManifest, 'manifest.json'));
  await rejects(readManifest(noManifest), /manifest\.json: cannot read \(ENOENT\)/);
});

test('errors are DatasetError with file and field', async () => {
  const dir = await copy('type');
  edit(dir, (a) => (a.k = 9));
  try {
    await loadAll(dir);
  } catch (e) {
    assert.instance(e, DatasetError);
    assert.is((e as DatasetError).file, 'train/train-0000001.json');
    assert.is((e as DatasetError).field, 'k');
  }
});

test.run();
