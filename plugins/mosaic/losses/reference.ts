/**
 * Plain-TypeScript references for the MOSAIC losses: straightforward loops over Float64Arrays,
 * independent of the traced graphs. Why: the tests check the graph values and `grad()` against
 * these (and their finite differences), and the docs can point at one readable formula each.
 * All arrays are row-major.
 */

/** Sizes of a correspondence map [B, R, N] (R = K·L). */
export interface MapDims {
  readonly B: number;
  readonly R: number;
  readonly N: number;
}

/** Sizes for {@link correspondenceMapReference}: q [B, H, R, d], k [B, H, N, d]. */
export interface AttentionDims extends MapDims {
  readonly H: number;
  readonly d: number;
}

/** SCAL = −Σ_{b,r,n} W[b,r,n]·log(A[b,r,n] + 1e-9). */
export function scalReference(map: Float64Array, weights: Float64Array, dims: MapDims): number {
  const n = dims.B * dims.R * dims.N;
  let loss = 0;
  for (let i = 0; i < n; i++) if (weights[i] !== 0) loss -= weights[i]! * Math.log(map[i]! + 1e-9);
  return loss;
}

function kl(p: number[], q: number[], eps: number): number {
  let s = 0;
  for (let t = 0; t < p.length; t++) s += p[t]! * (Math.log(p[t]! + eps) - Math.log(q[t]! + eps));
  return s;
}

/**
 * MDL = −mean over b and pairs i < j of dist(â_i, â_j), with a_k[n] = Σ_r R[b,k,r]·A[b,r,n]
 * and â_k = a_k / Σ_n a_k[n]; dist = JSD (½KL(p‖m) + ½KL(q‖m), m = (p+q)/2) or symmetric KL
 * (½KL(p‖q) + ½KL(q‖p)); eps inside the logs as in the graph.
 */
export function mdlReference(map: Float64Array, rowWeights: Float64Array, dims: MapDims & { readonly K: number }, distance: 'jsd' | 'skl', eps = 1e-8): number {
  const { B, K, R, N } = dims;
  let total = 0;
  let count = 0;
  for (let b = 0; b < B; b++) {
    const a: number[][] = [];
    for (let k = 0; k < K; k++) {
      const row = new Array<number>(N).fill(0);
      for (let r = 0; r < R; r++) {
        const w = rowWeights[(b * K + k) * R + r]!;
        if (w === 0) continue;
        for (let n = 0; n < N; n++) row[n]! += w * map[(b * R + r) * N + n]!;
      }
      const s = row.reduce((x, y) => x + y, 0);
      a.push(row.map((x) => x / s));
    }
    for (let i = 0; i < K; i++) {
      for (let j = i + 1; j < K; j++) {
        const p = a[i]!;
        const q = a[j]!;
        if (distance === 'jsd') {
          const m = p.map((x, t) => (x + q[t]!) / 2);
          total += 0.5 * kl(p, m, eps) + 0.5 * kl(q, m, eps);
        } else {
          total += 0.5 * kl(p, q, eps) + 0.5 * kl(q, p, eps);
        }
        count++;
      }
    }
  }
  return -total / count;
}

/**
 * One tap's correspondence map: A[b,r,n] = mean_h softmax_n(q[b,h,r]·k[b,h,n]/√d). With several
 * taps (arrays of q and k), the mean of their maps. Returns [B, R, N].
 */
export function correspondenceMapReference(q: Float64Array | readonly Float64Array[], k: Float64Array | readonly Float64Array[], dims: AttentionDims): Float64Array {
  const qs = q instanceof Float64Array ? [q] : q;
  const ks = k instanceof Float64Array ? [k] : k;
  const { B, H, R, N, d } = dims;
  const out = new Float64Array(B * R * N);
  const logits = new Float64Array(N);
  for (let tap = 0; tap < qs.length; tap++) {
    const qt = qs[tap]!;
    const kt = ks[tap]!;
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let r = 0; r < R; r++) {
          let mx = -Infinity;
          for (let n = 0; n < N; n++) {
            let dot = 0;
            for (let c = 0; c < d; c++) dot += qt[((b * H + h) * R + r) * d + c]! * kt[((b * H + h) * N + n) * d + c]!;
            logits[n] = dot / Math.sqrt(d);
            mx = Math.max(mx, logits[n]!);
          }
          let z = 0;
          for (let n = 0; n < N; n++) z += Math.exp(logits[n]! - mx);
          for (let n = 0; n < N; n++) out[(b * R + r) * N + n]! += Math.exp(logits[n]! - mx) / z / (H * qs.length);
        }
      }
    }
  }
  return out;
}
