import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apply, invert } from '../../plugins/semalign/geometry.ts';
import { warpThroughCorrespondences, warpReference } from '../../plugins/semalign/warp.ts';
import { fixtures } from './helpers.ts';

/** Stated tolerance of the warping test (mean absolute error, 0..255, over subject pixels). */
const WARP_MAE = 12;

test('ownership is disjoint and matches the label map majority; indices stay in their grids', () => {
  for (const s of fixtures(40, [1, 2, 4, 6, 8])) {
    const a = s.annotation;
    const c = a.correspondence;
    const [gw, gh] = c.targetGrid;
    const P = c.patchSize;
    const W = a.target.width;
    const nr = c.refGrid[0] * c.refGrid[1];
    const owned = new Array<number>(a.k).fill(0);
    for (let v = 0; v < gw * gh; v++) {
      const o = c.owner[v]!;
      if (o < 0) {
        assert.is(c.refPatch[v], -1);
        continue;
      }
      owned[o]!++;
      let mine = 0;
      for (let y = Math.floor(v / gw) * P; y < (Math.floor(v / gw) + 1) * P; y++) {
        for (let x = (v % gw) * P; x < ((v % gw) + 1) * P; x++) if (s.label.data[y * W + x] === o + 1) mine++;
      }
      assert.ok(mine * 2 > P * P, `${a.id}: patch ${v} owned by ${o} without a majority`);
      assert.ok(c.refPatch[v]! >= 0 && c.refPatch[v]! < nr, `${a.id}: refPatch[${v}] out of grid`);
    }
    a.subjects.forEach((sub, k) => {
      assert.is(sub.ownedPatches, owned[k]);
      const seen = new Set<number>();
      for (const v of c.refToTarget[k]!) {
        if (v < 0) continue;
        assert.is(c.owner[v], k, `${a.id}: ref→target of slot ${k} lands on a patch owned by ${c.owner[v]}`);
        seen.add(v);
      }
      assert.ok(sub.visibleRefPatches > 0 || sub.ownedPatches === 0);
    });
  }
});

test('correspondences are exact: stored points equal the inverse pose of each patch centre', () => {
  for (const s of fixtures(24, [1, 3, 5, 7], { patchSize: 8, refPatchSize: 8 })) {
    const a = s.annotation;
    const c = a.correspondence;
    const inv = a.subjects.map((sub) => invert(sub.refToTarget));
    for (let v = 0; v < c.owner.length; v++) {
      const o = c.owner[v]!;
      if (o < 0) continue;
      const [qx, qy] = apply(inv[o]!, ((v % c.targetGrid[0]) + 0.5) * c.patchSize, (Math.floor(v / c.targetGrid[0]) + 0.5) * c.patchSize);
      assert.ok(Math.abs(qx - c.refPoint[2 * v]!) <= 0.005 && Math.abs(qy - c.refPoint[2 * v + 1]!) <= 0.005, `${a.id}: refPoint[${v}]`);
      const u = Math.floor(c.refPoint[2 * v + 1]! / c.refPatchSize) * c.refGrid[0] + Math.floor(c.refPoint[2 * v]! / c.refPatchSize);
      assert.is(c.refPatch[v], u);
    }
    // Reference → target: the forward-mapped centre of each visible reference patch lies in its target patch.
    a.subjects.forEach((sub, k) => {
      c.refToTarget[k]!.forEach((v, u) => {
        if (v < 0) return;
        const [px, py] = apply(sub.refToTarget, ((u % c.refGrid[0]) + 0.5) * c.refPatchSize, (Math.floor(u / c.refGrid[0]) + 0.5) * c.refPatchSize);
        assert.is(Math.floor(py / c.patchSize) * c.targetGrid[0] + Math.floor(px / c.patchSize), v);
      });
    });
  }
});

test('patch size is configurable: dense grids at 2, 4 and 8 px', () => {
  for (const [P, Q] of [
    [2, 2],
    [4, 8],
    [8, 4],
  ] as const) {
    const [s] = fixtures(1, [4], { patchSize: P, refPatchSize: Q });
    const c = s!.annotation.correspondence;
    assert.equal(c.targetGrid, [64 / P, 64 / P]);
    assert.equal(c.refGrid, [32 / Q, 32 / Q]);
    assert.is(c.owner.length, (64 / P) ** 2);
    assert.ok(c.owner.some((o) => o >= 0));
  }
});

test(`warping reference pixels through the stored correspondences reproduces the target (MAE ≤ ${WARP_MAE})`, () => {
  let err = 0;
  let n = 0;
  let wrongErr = 0;
  for (const s of fixtures(40, [1, 2, 3, 4, 6, 8])) {
    const a = s.annotation;
    const { image, predicted } = warpThroughCorrespondences(a, s.refs);
    // The same warp with every subject's reference rotated by one slot: the control.
    const shuffled = warpThroughCorrespondences(a, s.refs.map((_, i) => s.refs[(i + 1) % a.k]!));
    for (let p = 0; p < predicted.length; p++) {
      if (predicted[p] === 0 || s.label.data[p] !== predicted[p]) continue;
      for (let ch = 0; ch < 3; ch++) {
        err += Math.abs(image.data[3 * p + ch]! - s.target.data[3 * p + ch]!);
        wrongErr += Math.abs(shuffled.image.data[3 * p + ch]! - s.target.data[3 * p + ch]!);
      }
      n += 3;
    }
  }
  const mae = err / n;
  if (process.env.SEMALIGN_VERBOSE) console.log(`warp MAE ${mae.toFixed(2)}, control ${(wrongErr / n).toFixed(2)}`);
  assert.ok(mae <= WARP_MAE, `warp MAE ${mae.toFixed(2)} > ${WARP_MAE}`);
  if (wrongErr / n < 30) assert.unreachable(`control (wrong references) should fail clearly, MAE ${(wrongErr / n).toFixed(2)}`);
});

test('warpReference through the exact pose agrees with the target on interior pixels', () => {
  let pooled = 0;
  let count = 0;
  for (const s of fixtures(10, [2, 5])) {
    const a = s.annotation;
    a.subjects.forEach((sub, k) => {
      // Interior: the pixel and its 4 neighbours are the subject's (edge pixels blend with the
      // background in the target but with white in the reference).
      const W = a.target.width;
      const L = s.label.data;
      const mask = new Uint8Array(L.length);
      for (let p = W; p < L.length - W; p++) mask[p] = [p, p - 1, p + 1, p - W, p + W].every((q) => L[q] === k + 1) ? 1 : 0;
      const w = warpReference(s.refs[k]!, sub.refToTarget, a.target.width, a.target.height, mask);
      let e = 0;
      let m = 0;
      for (let p = 0; p < mask.length; p++) {
        if (!mask[p]) continue;
        for (let ch = 0; ch < 3; ch++) e += Math.abs(w.data[3 * p + ch]! - s.target.data[3 * p + ch]!);
        m += 3;
      }
      // Per subject, small high-frequency subjects alias when a 32-px reference is resampled
      // to ~10 px, hence a looser per-subject bound than the pooled one.
      if (m > 0) assert.ok(e / m <= 2 * WARP_MAE, `${a.id} slot ${k}: MAE ${(e / m).toFixed(2)}`);
      pooled += e;
      count += m;
    });
  }
  if (process.env.SEMALIGN_VERBOSE) console.log(`interior warp MAE ${(pooled / count).toFixed(2)}`);
  assert.ok(pooled / count <= WARP_MAE, `pooled interior MAE ${(pooled / count).toFixed(2)}`);
});

test.run();
