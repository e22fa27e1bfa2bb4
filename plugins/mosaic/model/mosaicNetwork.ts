import { type Graph, type Sym, Tensor, groupMask, init, ops as o, scaledDotProductAttention, splitHeads, mergeHeads } from 'tessera/kernels';
import type { CorrespondenceTap } from '../losses/index.ts';
import { dims, layoutDim, type MosaicConfig } from './MosaicConfig.ts';
import { positionFeatures, timeFeatures } from './positionFeatures.ts';

/** The network's per-batch inputs as traced tensors. */
export interface MosaicInputs {
  /** Noisy target patches [B, N, P] at time t. */
  xt: Sym;
  /** Sinusoidal features of each batch element's diffusion time [B, D] ({@link timeFeatures}; t = 1 is pure noise). */
  tfeat: Sym;
  /** Clean reference patches [B, K·L, P], references in slot order. */
  refs: Sym;
  /**
   * Each subject's layout [B, K, layoutDim]: the box (x, y, w, h) as fractions of the target
   * side, then with `layoutPose` (cos θ, sin θ, mirror ±1, ln scale, given 1/0). A dropped
   * layout is all zeros.
   */
  boxes: Sym;
  /** Share of each target patch inside each subject's box [B, N, K]. */
  boxmap: Sym;
  /** With refPositions 'pose': each reference token's position features [B, K·L, D] (host-computed from the layout). */
  refpos?: Sym;
}

export interface MosaicOutputs {
  /** Predicted velocity ε − x0 for the target tokens [B, N, P]. */
  velocity: Sym;
  /** One tap per requested block. */
  taps: CorrespondenceTap[];
  /** With `collectHidden`: each block's output tokens, main branch [B, K+N, D] and references [B, K·L, D]. */
  hidden: { main: Sym; refs: Sym }[];
}

/** Sequence layout of one forward pass: [layout K | target N | ref₁ L | … | ref_K L]. */
export function tokenLayout(c: MosaicConfig, k: number) {
  const { n, l } = dims(c);
  return { k, n, l, main: k + n, total: k + n + k * l, targetStart: k, refStart: k + n };
}

function ln(x: Sym): Sym {
  const w = x.shape[x.rank - 1]!;
  const g = x.graph;
  return o.layerNorm(x, g.constant(Tensor.from(new Array(w).fill(1), [w])), null, 1e-6);
}

/** x·(1 + scale) + shift with [B', D] modulation broadcast over tokens. */
function modulate(x: Sym, shift: Sym, scale: Sym): Sym {
  const b = shift.shape[0]!;
  const d = shift.shape[1]!;
  return o.add(o.mul(x, o.add(o.reshape(scale, [b, 1, d]), 1)), o.reshape(shift, [b, 1, d]));
}

const gate = (x: Sym, g: Sym) => o.mul(x, o.reshape(g, [g.shape[0]!, 1, g.shape[1]!]));

/**
 * The MOSAIC flow-matching diffusion transformer, traced into `g` for a batch with K
 * references. The target branch (layout + target tokens) uses the base weights and is modulated
 * by the diffusion time; the reference branch runs at t = 0 with base weights plus one shared
 * LoRA adapter on the patch embedding, QKV, output and second MLP projections. References see
 * the layout, the target and themselves, never each other (the MOSAIC group mask).
 * Parameters do not depend on K, so every K shares one set of weights.
 *
 * @example
 * const out = mosaicNetwork(g, PRESETS.tiny, 2, { xt, tfeat, refs, boxes, boxmap }, { tapBlocks: [0, 1] });
 */
export function mosaicNetwork(g: Graph, c: MosaicConfig, k: number, x: MosaicInputs, options: { tapBlocks?: readonly number[]; collectHidden?: boolean } = {}): MosaicOutputs {
  if (!Number.isInteger(k) || k < 1 || k > c.maxRefs) throw new RangeError(`K = ${k} references is outside this model's range 1…${c.maxRefs}`);
  for (const tb of options.tapBlocks ?? []) if (!Number.isInteger(tb) || tb < 0 || tb >= c.depth) throw new RangeError(`attention block ${tb} does not exist (blocks 0…${c.depth - 1})`);
  const { n, l, grid, refGrid, patchDim, hidden: mlpWidth } = dims(c);
  const D = c.width;
  const r = c.loraRank;
  const seq = tokenLayout(c, k);
  const P = (name: string, shape: number[], i = init.xavier(), decay = true) => g.param(name, shape, { init: i, decay });
  const lora = (name: string, w: Sym, inDim: number, outDim: number): Sym =>
    r === 0 ? w : o.add(w, o.matmul(P(`${name}.lora_a`, [inDim, r], init.normal(1 / Math.sqrt(inDim))), P(`${name}.lora_b`, [r, outDim], init.zeros())));

  // Embeddings.
  const embW = P('embed.w', [patchDim, D]);
  const embB = P('embed.b', [D], init.zeros(), false);
  const slot = P('embed.slot', [c.maxRefs, D], init.normal(0.5), false);
  const boxW = P('embed.box_w', [4, D]);
  const layoutTag = P('embed.layout', [D], init.normal(0.5), false);
  const tMlp1 = P('time.w1', [D, D]);
  const tB1 = P('time.b1', [D], init.zeros(), false);
  const tMlp2 = P('time.w2', [D, D]);
  const tB2 = P('time.b2', [D], init.zeros(), false);

  const slots = o.slice(slot, [0], [k], [0]); // [K, D]
  const refSlots = o.gather(slot, Array.from({ length: k * l }, (_, i) => Math.floor(i / l)), 0); // [K·L, D]
  const tgtPos = g.constant(positionFeatures(grid, grid, D));
  const refPos = g.constant(positionFeatures(refGrid, refGrid, D, grid / refGrid));
  let refPosK: Sym;
  if (c.refPositions === 'pose') {
    if (!x.refpos) throw new Error("mosaic: refPositions 'pose' needs the refpos input");
    refPosK = x.refpos;
  } else {
    refPosK = o.reshape(o.expand(o.reshape(refPos, [1, l, D]), [k, l, D]), [k * l, D]);
  }

  const target = o.add(o.add(o.linear(x.xt, embW, embB), tgtPos), o.matmul(x.boxmap, slots));
  let layout = o.add(o.add(o.linear(c.layoutPose ? o.slice(x.boxes, [0], [4], [2]) : x.boxes, boxW), slots), layoutTag);
  if (c.layoutPose) layout = o.add(layout, o.linear(o.slice(x.boxes, [4], [layoutDim(c)], [2]), P('embed.pose_w', [layoutDim(c) - 4, D])));
  const refTok = o.add(o.add(o.linear(x.refs, lora('embed', embW, patchDim, D), embB), refPosK), refSlots);

  // Time conditioning: the target branch at t, the reference branch at t = 0.
  const timeEmb = (f: Sym) => o.silu(o.linear(o.silu(o.linear(f, tMlp1, tB1)), tMlp2, tB2));
  const cMain = timeEmb(x.tfeat); // [B, D]
  const cRef = timeEmb(g.constant(timeFeatures([0], D))); // [1, D]

  // Groups [layout, target, ref₁ … ref_K]: no reference↔reference attention; in 'self' mode references see only themselves.
  const mask = groupMask([k, n, ...new Array<number>(k).fill(l)], (i, j) => (i < 2 ? true : c.refAttention === 'self' ? i === j : j < 2 || i === j));
  const hidden: MosaicOutputs['hidden'] = [];
  const taps: CorrespondenceTap[] = [];
  const tapSet = new Set(options.tapBlocks ?? []);
  let hm = o.concat([layout, target], 1); // [B, K+N, D]
  let hr = refTok; // [B, K·L, D]

  for (let b = 0; b < c.depth; b++) {
    const pre = `block${b}`;
    const adaW = P(`${pre}.ada.w`, [D, 6 * D], init.zeros());
    const adaB = P(`${pre}.ada.b`, [6 * D], init.zeros(), false);
    const wqkv = P(`${pre}.attn.wqkv`, [D, 3 * D]);
    const bqkv = P(`${pre}.attn.bqkv`, [3 * D], init.zeros(), false);
    const wo = P(`${pre}.attn.wo`, [D, D]);
    const bo = P(`${pre}.attn.bo`, [D], init.zeros(), false);
    const w1 = P(`${pre}.mlp.w1`, [D, mlpWidth]);
    const b1 = P(`${pre}.mlp.b1`, [mlpWidth], init.zeros(), false);
    const w2 = P(`${pre}.mlp.w2`, [mlpWidth, D]);
    const b2 = P(`${pre}.mlp.b2`, [D], init.zeros(), false);
    const wqkvR = lora(`${pre}.attn.qkv`, wqkv, D, 3 * D);
    const woR = lora(`${pre}.attn.o`, wo, D, D);
    const w2R = lora(`${pre}.mlp.2`, w2, mlpWidth, D);

    const modM = o.split(o.linear(cMain, adaW, adaB), new Array(6).fill(D), 1);
    const modR = o.split(o.linear(cRef, adaW, adaB), new Array(6).fill(D), 1);
    const [sm1, cm1, gm1, sm2, cm2, gm2] = modM as [Sym, Sym, Sym, Sym, Sym, Sym];
    const [sr1, cr1, gr1, sr2, cr2, gr2] = modR as [Sym, Sym, Sym, Sym, Sym, Sym];

    const qkv = o.concat([o.linear(modulate(ln(hm), sm1, cm1), wqkv, bqkv), o.linear(modulate(ln(hr), sr1, cr1), wqkvR, bqkv)], 1);
    const [qf, kf, vf] = o.split(qkv, [D, D, D], 2) as [Sym, Sym, Sym];
    const q = splitHeads(qf, c.heads);
    const kk = splitHeads(kf, c.heads);
    const att = mergeHeads(scaledDotProductAttention(q, kk, splitHeads(vf, c.heads), mask));
    const [am, ar] = o.split(att, [seq.main, k * l], 1) as [Sym, Sym];
    if (tapSet.has(b)) {
      taps.push({ block: b, qRef: o.slice(q, [seq.refStart], [seq.total], [2]), kTgt: o.slice(kk, [seq.targetStart], [seq.refStart], [2]) });
    }
    hm = o.add(hm, gate(o.linear(am, wo, bo), gm1));
    hr = o.add(hr, gate(o.linear(ar, woR, bo), gr1));
    hm = o.add(hm, gate(o.linear(o.gelu(o.linear(modulate(ln(hm), sm2, cm2), w1, b1)), w2, b2), gm2));
    if (b < c.depth - 1 || options.collectHidden) {
      // The last block's reference MLP cannot reach the output: skip it unless hidden states are inspected.
      hr = o.add(hr, gate(o.linear(o.gelu(o.linear(modulate(ln(hr), sr2, cr2), w1, b1)), w2R, b2), gr2));
    }
    if (options.collectHidden) hidden.push({ main: hm, refs: hr });
  }

  const finAda = P('final.ada.w', [D, 2 * D], init.zeros());
  const finAdaB = P('final.ada.b', [2 * D], init.zeros(), false);
  const outW = P('final.w', [D, patchDim], init.zeros());
  const outB = P('final.b', [patchDim], init.zeros(), false);
  const [fs, fc] = o.split(o.linear(cMain, finAda, finAdaB), [D, D], 1) as [Sym, Sym];
  const tgt = o.slice(hm, [seq.targetStart], [seq.refStart], [1]);
  const velocity = o.linear(modulate(ln(tgt), fs, fc), outW, outB);
  return { velocity, taps, hidden };
}
