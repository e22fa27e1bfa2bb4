import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateToDisk } from '../../plugins/semalign/generate.ts';
import { FAMILIES, IDENTITY_SPACE, identityFromId, PATTERNS, scrambleId, SPLITS, splitOfIdentity } from '../../plugins/semalign/identity.ts';
import { generateSample, renderTarget, validateConfig } from '../../plugins/semalign/sample.ts';
import pngjs from 'pngjs';
import type { ImageValue } from 'tessera';
import { decodePng, encodePng } from 'tessera/image';
import { config, fixtures, tempDir } from './helpers.ts';

const { PNG } = pngjs;

function filesOf(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, readFileSync(join(dir, e.name)));
    }
  };
  walk(root, '');
  return out;
}

test('same seed → byte-identical PNG and JSON files, whatever the worker count', async () => {
  const c = config({ seed: 7, kMin: 1, kMax: 6 });
  const a = tempDir('det-a');
  const b = tempDir('det-b');
  await generateToDisk(a, c, { train: 12, val: 4, test: 4 }, { workers: 0 });
  await generateToDisk(b, c, { train: 12, val: 4, test: 4 }, { workers: 2, chunk: 3 });
  const fa = filesOf(a);
  const fb = filesOf(b);
  assert.equal([...fa.keys()].sort(), [...fb.keys()].sort());
  assert.ok(fa.size > 20 * 5, `expected many files, got ${fa.size}`);
  for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), `${k} differs`);
  const other = tempDir('det-c');
  await generateToDisk(other, { ...c, seed: 8 }, { train: 12, val: 4, test: 4 }, { workers: 0 });
  assert.not.ok(filesOf(other).get('train/train-0000000_target.png')!.equals(fa.get('train/train-0000000_target.png')!), 'another seed gives another dataset');
});

test('PNG round trip preserves pixels; the annotation alone re-renders the target exactly', () => {
  for (const s of fixtures(12, [1, 3, 5, 8])) {
    const again = renderTarget(s.annotation);
    assert.ok(Buffer.from(again.data).equals(Buffer.from(s.target.data)), `${s.annotation.id}: re-render differs`);
  }
});

test('identity space: bijective code, ≥ 1M distinct identities, disjoint splits', () => {
  assert.ok(IDENTITY_SPACE >= 1_000_000);
  // The first 2^20 ids alone map to 2^20 distinct 24-bit attribute codes: ≥ 1M distinct
  // identities (the whole space is a bijection by construction; checking all 16.7M ids costs
  // seconds, this is a fraction).
  const seen = new Uint8Array(IDENTITY_SPACE);
  let collisions = 0;
  for (let i = 0; i < 1 << 20; i++) {
    const c = scrambleId(i);
    collisions += seen[c]!;
    seen[c] = 1;
  }
  assert.is(collisions, 0, 'distinct ids give distinct attribute codes');
  // Distinct codes → distinct discrete attribute tuples (24 bits fully used), so every id is a
  // distinct subject. Spot-check that the attribute fields vary across neighbouring ids.
  const fams = new Set<string>();
  const pats = new Set<string>();
  for (let i = 0; i < 200; i++) {
    fams.add(identityFromId(i).family);
    pats.add(identityFromId(i).pattern);
  }
  assert.is(fams.size, FAMILIES.length);
  assert.is(pats.size, PATTERNS.length);
  const ranges = Object.values(SPLITS).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < ranges.length; i++) assert.is(ranges[i]![0], ranges[i - 1]![1], 'splits are contiguous and disjoint');
  for (const split of ['train', 'val', 'test'] as const) {
    for (let i = 0; i < 10; i++) {
      const s = generateSample(config({ kMin: 8, kMax: 8 }), { split, index: i });
      for (const sub of s.annotation.subjects) assert.is(splitOfIdentity(sub.identity), split);
      if (s.annotation.dip?.replacementIdentity != null) assert.is(splitOfIdentity(s.annotation.dip.replacementIdentity), split);
    }
  }
});

test('layout: boxes do not overlap, subjects stay inside their boxes, K honoured 1..8', () => {
  for (const s of fixtures(48, [1, 2, 3, 4, 5, 6, 7, 8])) {
    const a = s.annotation;
    assert.is(a.subjects.length, a.k);
    assert.is(s.refs.length, a.k);
    for (let i = 0; i < a.k; i++) {
      for (let j = i + 1; j < a.k; j++) {
        const [x1, y1, w1, h1] = a.subjects[i]!.box;
        const [x2, y2, w2, h2] = a.subjects[j]!.box;
        assert.ok(x1 + w1 <= x2 || x2 + w2 <= x1 || y1 + h1 <= y2 || y2 + h2 <= y1, `${a.id}: boxes ${i} and ${j} overlap`);
      }
    }
    const W = a.target.width;
    for (let p = 0; p < W * W; p++) {
      const l = s.label.data[p]!;
      if (l === 0) continue;
      const [bx, by, bw, bh] = a.subjects[l - 1]!.box;
      const x = p % W;
      const y = Math.floor(p / W);
      assert.ok(x + 1 > bx && x < bx + bw && y + 1 > by && y < by + bh, `${a.id}: pixel ${x},${y} of slot ${l - 1} is outside its box`);
    }
    for (const sub of a.subjects) assert.ok(sub.pixels > 0, `${a.id}: subject ${sub.slot} has no pixels`);
  }
});

test('config errors name the field; K out of range is refused', () => {
  assert.throws(() => validateConfig(config({ kMax: 9 })), /config\.kMax/);
  assert.throws(() => validateConfig(config({ kMin: 0 })), /config\.kMin/);
  assert.throws(() => validateConfig(config({ kMin: 5, kMax: 3 })), /kMin \(5\) must not exceed config\.kMax/);
  assert.throws(() => validateConfig(config({ patchSize: 5 })), /config\.patchSize 5 must divide/);
  assert.throws(() => generateSample(config(), { split: 'val', index: 0, k: 9 }), /k must be an integer in \[1, 8\]/);
});

test('references are the subject on white, centred; PNG decode matches memory', async () => {
  const dir = tempDir('ref');
  const m = await generateToDisk(dir, config({ kMin: 3, kMax: 3 }), { val: 2 }, { workers: 0 });
  const s = generateSample(config({ kMin: 3, kMax: 3 }), { split: 'val', index: 0 });
  const ref0 = decodePng(readFileSync(join(dir, m.samples[0]!.files.find((f) => f.path.endsWith('_ref0.png'))!.path)), 'ref0', 3);
  assert.ok(Buffer.from(ref0.data).equals(Buffer.from(s.refs[0]!.data)));
  const R = ref0.width;
  const corner = ref0.data.slice(0, 3);
  assert.equal([...corner], [255, 255, 255], 'reference background is white');
  const c = ((R / 2) * R + R / 2) * 3;
  assert.not.equal([...ref0.data.slice(c, c + 3)], [255, 255, 255], 'subject at the centre');
});

test('encodePng writes the same bytes as pngjs (Sub filter, deflate level 1) and decodes back', () => {
  const images: ImageValue[] = [
    { width: 1, height: 1, channels: 3, data: new Uint8Array([1, 2, 3]) },
    { width: 3, height: 2, channels: 4, data: new Uint8Array(24).map((_, i) => (i * 37) & 255) },
    { width: 5, height: 3, channels: 1, data: new Uint8Array(15).map((_, i) => (i * 91) & 255) },
  ];
  for (const s of fixtures(6, [1, 4, 8])) images.push(s.target, s.label, ...s.refs, s.loser!, s.dipMask!);
  for (const img of images) {
    const colorType = img.channels === 1 ? 0 : img.channels === 3 ? 2 : 6;
    const ref = PNG.sync.write({ width: img.width, height: img.height, data: Buffer.from(img.data) } as never, {
      colorType,
      inputColorType: colorType,
      inputHasAlpha: img.channels === 4,
      bitDepth: 8,
      filterType: 1,
      deflateLevel: 1,
    });
    const mine = encodePng(img);
    assert.ok(mine.equals(ref), `${img.width}×${img.height}×${img.channels}: bytes differ from pngjs`);
    if (img.channels !== 4) assert.ok(Buffer.from(decodePng(mine, 'x', img.channels as 1 | 3).data).equals(Buffer.from(img.data)));
  }
});

test.run();
