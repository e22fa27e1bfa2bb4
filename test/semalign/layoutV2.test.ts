// Annotation version 2: the pose relative to the reference, overlapping subjects with an
// occlusion order, layout dropout, and version 1 datasets still loading.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose, invert, poseFromRelative, referencePose, subjectToImage } from '../../plugins/semalign/geometry.ts';
import { loadSample, readManifest } from '../../plugins/semalign/dataset.ts';
import { generateToDisk } from '../../plugins/semalign/generate.ts';
import { identityFromId } from '../../plugins/semalign/identity.ts';
import { drawSubjects, renderBackground, SUBSAMPLES } from '../../plugins/semalign/render.ts';
import { generateSample, validateConfig, type SemAlignSample } from '../../plugins/semalign/sample.ts';
import { SubjectShader } from '../../plugins/semalign/subject.ts';
import { warpReference } from '../../plugins/semalign/warp.ts';
import { config, fixtures, tempDir } from './helpers.ts';

/** Mean absolute error (0..255) between two RGB images over the pixels `mask` selects. */
function mae(a: Uint8Array, b: Uint8Array, mask: (p: number) => boolean): number {
  let e = 0;
  let n = 0;
  for (let p = 0; p < a.length / 3; p++) {
    if (!mask(p)) continue;
    for (let c = 0; c < 3; c++) e += Math.abs(a[3 * p + c]! - b[3 * p + c]!);
    n += 3;
  }
  return e / n;
}

test('relativePose is the warp actually applied: the scene re-rendered from box centres and relative poses is the target, byte for byte', () => {
  for (const s of fixtures(24, [1, 2, 3, 4, 6, 8])) {
    const a = s.annotation;
    const W = a.target.width;
    const data = renderBackground(a.background, W, W);
    const drawn = a.subjects.map((sub) => {
      const [x, y, w, h] = sub.box;
      return { shader: new SubjectShader(identityFromId(sub.identity)), pose: poseFromRelative(sub.relativePose, x + w / 2, y + h / 2, sub.reference.size, sub.reference.scale) };
    });
    drawSubjects(data, W, W, drawn);
    assert.ok(Buffer.from(data).equals(Buffer.from(s.target.data)), `${a.id}: re-render from the relative poses differs`);
  }
});

test('relativePose warps the reference pixels onto the target subject; a wrong mirror or rotation does not', () => {
  let right = 0;
  let flipped = 0;
  let turned = 0;
  let n = 0;
  for (const s of fixtures(24, [1, 2, 4, 6])) {
    const a = s.annotation;
    const W = a.target.width;
    a.subjects.forEach((sub, slot) => {
      const [x, y, w, h] = sub.box;
      const R = sub.reference.size;
      const refPose = subjectToImage(referencePose(R, sub.reference.scale));
      const warpWith = (rel: typeof sub.relativePose) => {
        const m = compose(subjectToImage(poseFromRelative(rel, x + w / 2, y + h / 2, R, sub.reference.scale)), invert(refPose));
        return warpReference(s.refs[slot]!, m, W, W, Uint8Array.from(s.label.data, (l) => (l === slot + 1 ? 1 : 0))).data;
      };
      const mine = (p: number) => s.label.data[p] === slot + 1;
      right += mae(warpWith(sub.relativePose), s.target.data, mine);
      flipped += mae(warpWith({ ...sub.relativePose, flip: !sub.relativePose.flip }), s.target.data, mine);
      turned += mae(warpWith({ ...sub.relativePose, rotationDeg: sub.relativePose.rotationDeg + 90 }), s.target.data, mine);
      n++;
    });
  }
  right /= n;
  flipped /= n;
  turned /= n;
  assert.ok(right < 12, `warp with the stored relative pose: MAE ${right.toFixed(2)}`);
  assert.ok(flipped > 2 * right && turned > 2 * right, `wrong poses must be clearly worse: right ${right.toFixed(2)}, flipped ${flipped.toFixed(2)}, turned ${turned.toFixed(2)}`);
});

test('defaults keep the original task: disjoint subjects, depth = slot, nothing dropped; missing options = 0', () => {
  const legacy = { ...config({ kMin: 1, kMax: 8 }) } as Record<string, unknown>;
  delete legacy.overlap;
  delete legacy.layoutDropout;
  for (let i = 0; i < 12; i++) {
    const a = generateSample(config({ kMin: 1, kMax: 8 }), { split: 'train', index: i });
    const b = generateSample(legacy as never, { split: 'train', index: i });
    assert.equal(JSON.stringify(a.annotation), JSON.stringify(b.annotation));
    assert.ok(Buffer.from(a.target.data).equals(Buffer.from(b.target.data)));
    assert.is(a.annotation.version, 2);
    a.annotation.subjects.forEach((sub) => {
      assert.is(sub.depth, sub.slot);
      assert.is(sub.layoutDropped, false);
    });
  }
  assert.throws(() => validateConfig(config({ overlap: 1.5 })), /config\.overlap must be in \[0, 1\]/);
  assert.throws(() => validateConfig(config({ layoutDropout: -0.1 })), /config\.layoutDropout must be in \[0, 1\]/);
});

/**
 * Brute-force label of one pixel from the subjects alone: each sub-sample goes to the front-most
 * subject containing it; the subject with most (≥ 2) sub-samples owns the pixel, ties to the front.
 */
function bruteLabel(s: SemAlignSample, x: number, y: number): number {
  const subs = [...s.annotation.subjects].sort((p, q) => p.depth - q.depth);
  const hits = new Map<number, number>();
  for (let i = 0; i < 8; i += 2) {
    const px = x + SUBSAMPLES[i]!;
    const py = y + SUBSAMPLES[i + 1]!;
    for (const sub of subs) {
      const m = invert(subjectToImage(sub.pose));
      if (new SubjectShader(identityFromId(sub.identity)).inside(m[0] * px + m[1] * py + m[2], m[3] * px + m[4] * py + m[5])) {
        hits.set(sub.slot, (hits.get(sub.slot) ?? 0) + 1);
        break;
      }
    }
  }
  let owner = 0;
  let best = 1;
  for (const sub of subs) {
    const h = hits.get(sub.slot) ?? 0;
    if (h > best) {
      best = h;
      owner = sub.slot + 1;
    }
  }
  return owner;
}

test('overlap: occlusion order decides the label map; occluded reference patches have no correspondence', () => {
  const samples = fixtures(16, [2, 3, 4, 5], { overlap: 0.8 }, 'train');
  let contested = 0;
  let occludedPatches = 0;
  let overlapping = 0;
  for (const s of samples) {
    const a = s.annotation;
    const W = a.target.width;
    assert.equal([...a.subjects.map((x) => x.depth)].sort(), Array.from({ length: a.k }, (_, i) => i), `${a.id}: depths are a permutation`);
    // Label map = the brute-force occlusion rule, pixel by pixel.
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) assert.is(s.label.data[y * W + x], bruteLabel(s, x, y), `${a.id}: label at ${x},${y}`);
    // Pixels wholly inside two subjects belong to the front one.
    const inside = a.subjects.map((sub) => {
      const m = invert(subjectToImage(sub.pose));
      const sh = new SubjectShader(identityFromId(sub.identity));
      return (px: number, py: number) => sh.inside(m[0] * px + m[1] * py + m[2], m[3] * px + m[4] * py + m[5]);
    });
    let any = false;
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        const hits = a.subjects.map((_, i) => [0, 2, 4, 6].filter((j) => inside[i]!(x + SUBSAMPLES[j]!, y + SUBSAMPLES[j + 1]!)).length);
        // Wholly inside two or more subjects and not partly inside any other.
        const cover = a.subjects.filter((_, i) => hits[i] === 4);
        if (cover.length < 2 || hits.some((h) => h > 0 && h < 4)) continue;
        any = true;
        contested++;
        const front = cover.reduce((p, q) => (q.depth < p.depth ? q : p));
        assert.is(s.label.data[y * W + x], front.slot + 1, `${a.id}: pixel ${x},${y} covered by slots ${cover.map((c) => c.slot)} must show the front one`);
      }
    }
    if (any) overlapping++;
    // A reference patch whose centre lands on a target patch owned by another subject is occluded: −1.
    const c = a.correspondence;
    const [gw] = c.targetGrid;
    a.subjects.forEach((sub, slot) => {
      const m = sub.refToTarget;
      c.refToTarget[slot]!.forEach((v, u) => {
        const cx = ((u % c.refGrid[0]) + 0.5) * c.refPatchSize;
        const cy = (Math.floor(u / c.refGrid[0]) + 0.5) * c.refPatchSize;
        const tv = Math.floor((m[3] * cx + m[4] * cy + m[5]) / c.patchSize) * gw + Math.floor((m[0] * cx + m[1] * cy + m[2]) / c.patchSize);
        const o = c.owner[tv];
        if (o !== undefined && o >= 0 && o !== slot) {
          occludedPatches++;
          assert.is(v, -1, `${a.id}: reference ${slot} patch ${u} lands on target patch ${tv} owned by slot ${o}, so it must have no correspondence`);
        }
        if (v >= 0) assert.is(c.owner[v], slot);
      });
    });
  }
  assert.ok(overlapping >= 8, `expected most scenes to overlap, got ${overlapping}/16`);
  assert.ok(contested > 200 && occludedPatches > 20, `too little overlap to test: ${contested} contested pixels, ${occludedPatches} occluded patches`);
});

test('layout dropout: deterministic per seed, at the asked rate, images untouched, prompt without the dropped placements', () => {
  const kList = [1, 2, 3, 4, 5, 6];
  const dropped = (seed: number, p: number) => fixtures(40, kList, { seed, layoutDropout: p }, 'train').map((s) => s.annotation.subjects.map((x) => x.layoutDropped));
  const a = dropped(3, 0.5);
  assert.equal(dropped(3, 0.5), a, 'same seed → same dropped subjects');
  assert.not.equal(dropped(4, 0.5), a, 'another seed → other subjects');
  const flat = a.flat();
  const rate = flat.filter(Boolean).length / flat.length;
  assert.ok(rate > 0.35 && rate < 0.65, `rate ${rate} for p = 0.5 over ${flat.length} subjects`);
  assert.ok(dropped(3, 0).flat().every((d) => !d), 'p = 0 drops nothing');
  assert.ok(dropped(3, 1).flat().every((d) => d), 'p = 1 drops every layout');
  const plain = fixtures(12, kList, { seed: 3 }, 'train');
  fixtures(12, kList, { seed: 3, layoutDropout: 0.5 }, 'train').forEach((s, i) => {
    assert.ok(Buffer.from(s.target.data).equals(Buffer.from(plain[i]!.target.data)), 'dropout changes the condition, never the images');
    assert.equal(s.annotation.correspondence, plain[i]!.annotation.correspondence);
    const parts = s.annotation.prompt.replace(/^\d+ subjects?: /, '').split('; ');
    s.annotation.subjects.forEach((sub, j) => assert.is(/ at the /.test(parts[j]!), !sub.layoutDropped, `prompt part ${j}: ${parts[j]}`));
  });
});

test('version 1 datasets still load (fields derived); version 2 annotations missing or contradicting them are refused', async () => {
  const dir = tempDir('v1');
  await generateToDisk(dir, config({ kMin: 2, kMax: 3 }), { train: 3 }, { workers: 0 });
  const fresh = await Promise.all((await readManifest(dir)).samples.map((e) => loadSample(dir, e)));
  // Rewrite as the previous generator wrote it: version 1, no new fields, no new config fields.
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  delete m.config.overlap;
  delete m.config.layoutDropout;
  for (const name of readdirSync(join(dir, 'train')).filter((f) => f.endsWith('.json'))) {
    const a = JSON.parse(readFileSync(join(dir, 'train', name), 'utf8'));
    a.version = 1;
    for (const sub of a.subjects) {
      delete sub.relativePose;
      delete sub.depth;
      delete sub.layoutDropped;
    }
    const text = JSON.stringify(a) + '\n';
    writeFileSync(join(dir, 'train', name), text);
    for (const e of m.samples) for (const f of e.files) if (f.path === `train/${name}`) f.bytes = Buffer.byteLength(text);
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const old = await readManifest(dir);
  for (const [i, e] of old.samples.entries()) {
    const s = await loadSample(dir, e);
    assert.is(s.annotation.version, 2, 'upgraded in memory');
    assert.equal(s.annotation.subjects, fresh[i]!.annotation.subjects, `${e.id}: derived fields equal the generated ones`);
  }
  // Version 2 must carry the fields, and they must agree with the pose.
  const file = join(dir, 'train/train-0000001.json');
  const edit = (f: (a: any) => void) => {
    const a = JSON.parse(readFileSync(file, 'utf8'));
    a.version = 2;
    for (const sub of a.subjects) Object.assign(sub, { relativePose: { rotationDeg: sub.pose.rotationDeg, flip: sub.pose.flip, scale: fresh[1]!.annotation.subjects[sub.slot]!.relativePose.scale }, depth: sub.slot, layoutDropped: false });
    f(a);
    const text = JSON.stringify(a) + '\n';
    writeFileSync(file, text);
    m.samples[1].files.find((x: any) => x.path === 'train/train-0000001.json').bytes = Buffer.byteLength(text);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  };
  const load = async () => loadSample(dir, (await readManifest(dir)).samples[1]!);
  edit(() => {});
  await load();
  edit((a) => delete a.subjects[1].depth);
  await load().then(
    () => assert.unreachable('missing depth must be refused'),
    (e: Error) => assert.match(e.message, /train-0000001\.json: subjects\.1: must have property 'depth' \(annotation version 2\)/),
  );
  edit((a) => (a.subjects[0].relativePose.flip = !a.subjects[0].relativePose.flip));
  await load().then(
    () => assert.unreachable('a contradicting relative pose must be refused'),
    (e: Error) => assert.match(e.message, /subjects\.0\.relativePose: is .* but the pose and reference give/),
  );
  edit((a) => (a.subjects[1].depth = 0));
  await load().then(
    () => assert.unreachable('repeated depths must be refused'),
    (e: Error) => assert.match(e.message, /subjects\.1\.depth: 0 repeats/),
  );
});

test.run();
