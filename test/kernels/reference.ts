/**
 * Plain-TypeScript reference implementations of the building blocks, used only by tests.
 * Deliberately naive loops over nested arrays: obviously correct, nothing shared with kernels/.
 */
export type M = number[][];

export const matmul = (a: M, b: M): M => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
export const transpose = (a: M): M => a[0]!.map((_, j) => a.map((r) => r[j]!));
export const softmaxRow = (r: number[]): number[] => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / s);
};

/** Multi-head self-attention for one batch element x [T, D]; mask[t][s] true = allowed. */
export function attention(x: M, w: { wq: M; wk: M; wv: M; wo: M; bq: number[]; bk: number[]; bv: number[]; bo: number[] }, heads: number, mask?: boolean[][]): M {
  const addB = (m: M, b: number[]) => m.map((r) => r.map((v, j) => v + b[j]!));
  const q = addB(matmul(x, w.wq), w.bq);
  const k = addB(matmul(x, w.wk), w.bk);
  const v = addB(matmul(x, w.wv), w.bv);
  const D = x[0]!.length;
  const d = D / heads;
  const out: M = x.map(() => new Array(D).fill(0));
  for (let h = 0; h < heads; h++) {
    const cols = (m: M) => m.map((r) => r.slice(h * d, (h + 1) * d));
    const qh = cols(q);
    const kh = cols(k);
    const vh = cols(v);
    const scores = matmul(qh, transpose(kh)).map((r, t) => r.map((s, u) => (mask && !mask[t]![u] ? -1e9 : s / Math.sqrt(d))));
    const p = scores.map(softmaxRow);
    const o = matmul(p, vh);
    o.forEach((r, t) => r.forEach((val, j) => (out[t]![h * d + j] = val)));
  }
  return addB(matmul(out, w.wo), w.bo);
}

/** Restricted map for one batch element: q [H][R][d], k [H][N][d] → [R][N], mean over heads. */
export function restrictedMap(q: M[], k: M[]): M {
  const H = q.length;
  const d = q[0]![0]!.length;
  const maps = q.map((qh, h) => matmul(qh, transpose(k[h]!)).map((r) => softmaxRow(r.map((v) => v / Math.sqrt(d)))));
  return maps[0]!.map((row, r) => row.map((_, c) => maps.reduce((s, m) => s + m[r]![c]!, 0) / H));
}

export const kl = (p: number[], q: number[], eps = 1e-8) => p.reduce((s, v, i) => s + v * (Math.log(v + eps) - Math.log(q[i]! + eps)), 0);
export const jsd = (p: number[], q: number[], eps = 1e-8) => {
  const m = p.map((v, i) => (v + q[i]!) / 2);
  return 0.5 * kl(p, m, eps) + 0.5 * kl(q, m, eps);
};
export const symKL = (p: number[], q: number[], eps = 1e-8) => 0.5 * kl(p, q, eps) + 0.5 * kl(q, p, eps);

export const weightedMSE = (p: number[], t: number[], w: number[]) => p.reduce((s, v, i) => s + w[i]! * (v - t[i]!) ** 2, 0) / w.reduce((a, b) => a + b, 0);
export const logSigmoid = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
export const flowMatching = (x0: number, eps: number, t: number) => ({ xt: (1 - t) * x0 + t * eps, target: eps - x0 });
