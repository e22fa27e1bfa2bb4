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

/**
 * One block's reference keys and values [B, K·L, D] (before the head split), and its reference
 * queries where the block is tapped for the correspondence map. With `refAttention: 'self'` they
 * are a function of the references alone, so a sampler computes them once per sample.
 */
export interface ReferenceKV {
  k: Sym;
  v: Sym;
  q: Sym | null;
}

/**
 * Which tokens a trace computes. 'all': the whole network (training, uncached sampling).
 * 'references' ('self' mask only): the reference branch alone, returning every block's
 * {@link ReferenceKV}; needs refs (and refpos), not xt/tfeat/boxes/boxmap. 'main': layout and
 * target tokens only, attending to the given per-block reference K/V instead of computing them.
 */
type NetworkPart = { part: 'all' } | { part: 'references' } | { part: 'main'; refs: readonly ReferenceKV[] };

export interface MosaicOutputs {
  /** Predicted velocity ε − x0 for the target tokens [B, N, P]. */
  velocity: Sym;
  /** One tap per requested block. */
  taps: CorrespondenceTap[];
  /** With `collectHidden`: each block's output tokens, main branch [B, K+N, D] and references [B, K·L, D]. */
  hidden: { main: Sym; refs: Sym }[];
  /** Per block, with part 'references': the references' keys, values and tapped queries. */
  references: ReferenceKV[];
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
  return withVelocity(network(g, c, k, x, options, { part: 'all' }));
}

function withVelocity(out: Omit<MosaicOutputs, 'velocity'> & { velocity: Sym | null }): MosaicOutputs {
  if (!out.velocity) throw new Error('mosaic: this part of the network has no velocity output');
  return { ...out, velocity: out.velocity };
}

/**
 * The reference branch alone ('self' mask): every block's reference K/V (and tapped queries),
 * which do not depend on the noisy target or the time. Declares the same parameters as
 * {@link mosaicNetwork}, so one weight record serves both.
 */
export function referenceBranch(g: Graph, c: MosaicConfig, k: number, x: Pick<MosaicInputs, 'refs' | 'refpos'>, options: { tapBlocks?: readonly number[] } = {}): ReferenceKV[] {
  return network(g, c, k, x, options, { part: 'references' }).references;
}

/**
 * The layout and target tokens alone ('self' mask), attending to the reference K/V that
 * {@link referenceBranch} computed (one entry per block): the same velocity and taps as
 * {@link mosaicNetwork} within float rounding, for K·L fewer query rows per block.
 */
export function mainBranch(g: Graph, c: MosaicConfig, k: number, x: Omit<MosaicInputs, 'refs' | 'refpos'>, refs: readonly ReferenceKV[], options: { tapBlocks?: readonly number[] } = {}): MosaicOutputs {
  return withVelocity(network(g, c, k, x, options, { part: 'main', refs }));
}

function network(g: Graph, c: MosaicConfig, k: number, x: Partial<MosaicInputs>, options: { tapBlocks?: readonly number[]; collectHidden?: boolean }, part: NetworkPart): Omit<MosaicOutputs, 'velocity'> & { velocity: Sym | null } {
  if (!Number.isInteger(k) || k < 1 || k > c.maxRefs) throw new RangeError(`K = ${k} references is outside this model's range 1…${c.maxRefs}`);
  if (part.part !== 'all' && c.refAttention !== 'self') throw new RangeError(`mosaic: reference K/V can be cached only with refAttention 'self' (this model: '${c.refAttention}')`);
  if (part.part === 'main' && part.refs.length !== c.depth) throw new RangeError(`mosaic: ${part.refs.length} cached reference blocks given, the model has ${c.depth}`);
  for (const tb of options.tapBlocks ?? []) if (!Number.isInteger(tb) || tb < 0 || tb >= c.depth) throw new RangeError(`attention block ${tb} does not exist (blocks 0…${c.depth - 1})`);
  const { n, l, grid, refGrid, patchDim, hidden: mlpWidth } = dims(c);
  const D = c.width;
  const r = c.loraRank;
  const seq = tokenLayout(c, k);
  const doMain = part.part !== 'references';
  const doRefs = part.part !== 'main';
  const need = (v: Sym | undefined, name: string): Sym => {
    if (!v) throw new Error(`mosaic: the ${part.part === 'all' ? 'network' : `${part.part} branch`} needs the '${name}' input`);
    return v;
  };
  // Every part declares every parameter, in one order (the trainer's initialisation follows it);
  // tensors a part does not use are pruned from its model.
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
  const poseW = c.layoutPose ? P('embed.pose_w', [layoutDim(c) - 4, D]) : null;
  const embR = lora('embed', embW, patchDim, D);

  const slots = o.slice(slot, [0], [k], [0]); // [K, D]
  const timeEmb = (f: Sym) => o.silu(o.linear(o.silu(o.linear(f, tMlp1, tB1)), tMlp2, tB2));
  // Time conditioning: the target branch at t, the reference branch at t = 0.
  let hm: Sym | null = null; // [B, K+N, D]
  let hr: Sym | null = null; // [B, K·L, D]
  let cMain: Sym | null = null; // [B, D]
  let cRef: Sym | null = null; // [1, D]
  if (doMain) {
    const boxes = need(x.boxes, 'boxes');
    const tgtPos = g.constant(positionFeatures(grid, grid, D));
    const target = o.add(o.add(o.linear(need(x.xt, 'xt'), embW, embB), tgtPos), o.matmul(need(x.boxmap, 'boxmap'), slots));
    let layout = o.add(o.add(o.linear(c.layoutPose ? o.slice(boxes, [0], [4], [2]) : boxes, boxW), slots), layoutTag);
    if (poseW) layout = o.add(layout, o.linear(o.slice(boxes, [4], [layoutDim(c)], [2]), poseW));
    hm = o.concat([layout, target], 1);
    cMain = timeEmb(need(x.tfeat, 'tfeat'));
  }
  if (doRefs) {
    const refSlots = o.gather(slot, Array.from({ length: k * l }, (_, i) => Math.floor(i / l)), 0); // [K·L, D]
    let refPosK: Sym;
    if (c.refPositions === 'pose') {
      if (!x.refpos) throw new Error("mosaic: refPositions 'pose' needs the refpos input");
      refPosK = x.refpos;
    } else {
      const refPos = g.constant(positionFeatures(refGrid, refGrid, D, grid / refGrid));
      refPosK = o.reshape(o.expand(o.reshape(refPos, [1, l, D]), [k, l, D]), [k * l, D]);
    }
    hr = o.add(o.add(o.linear(need(x.refs, 'refs'), embR, embB), refPosK), refSlots);
    cRef = timeEmb(g.constant(timeFeatures([0], D)));
  }

  // Groups [layout, target, ref₁ … ref_K]: no reference↔reference attention; in 'self' mode references see only themselves.
  const mask = part.part === 'all' ? groupMask([k, n, ...new Array<number>(k).fill(l)], (i, j) => (i < 2 ? true : c.refAttention === 'self' ? i === j : j < 2 || i === j)) : null;
  const hidden: MosaicOutputs['hidden'] = [];
  const taps: CorrespondenceTap[] = [];
  const references: ReferenceKV[] = [];
  const tapSet = new Set(options.tapBlocks ?? []);
  const mod6 = (cond: Sym | null, w: Sym, b: Sym) => (cond ? (o.split(o.linear(cond, w, b), new Array(6).fill(D), 1) as [Sym, Sym, Sym, Sym, Sym, Sym]) : null);
  const B = (x.xt ?? x.refs)!.shape[0]!;

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

    const modM = mod6(cMain, adaW, adaB);
    const modR = mod6(cRef, adaW, adaB);
    const qkvM = hm && modM ? o.linear(modulate(ln(hm), modM[0], modM[1]), wqkv, bqkv) : null;
    const qkvR = hr && modR ? o.linear(modulate(ln(hr), modR[0], modR[1]), wqkvR, bqkv) : null;
    let am: Sym | null = null;
    let ar: Sym | null = null;
    if (part.part === 'all') {
      const [qf, kf, vf] = o.split(o.concat([qkvM!, qkvR!], 1), [D, D, D], 2) as [Sym, Sym, Sym];
      const q = splitHeads(qf, c.heads);
      const kk = splitHeads(kf, c.heads);
      const att = mergeHeads(scaledDotProductAttention(q, kk, splitHeads(vf, c.heads), mask!));
      [am, ar] = o.split(att, [seq.main, k * l], 1) as [Sym, Sym];
      if (tapSet.has(b)) taps.push({ block: b, qRef: o.slice(q, [seq.refStart], [seq.total], [2]), kTgt: o.slice(kk, [seq.targetStart], [seq.refStart], [2]) });
    } else if (part.part === 'references') {
      const [qf, kf, vf] = o.split(qkvR!, [D, D, D], 2) as [Sym, Sym, Sym];
      references.push({ k: kf, v: vf, q: tapSet.has(b) ? qf : null });
      // The last block's reference outputs reach nothing: only its K/V (and taps) are needed.
      if (b < c.depth - 1) {
        // Each reference attends to itself only: one [L, L] attention per reference, no mask.
        const perRef = (t: Sym) => splitHeads(o.reshape(t, [B * k, l, D]), c.heads);
        ar = o.reshape(mergeHeads(scaledDotProductAttention(perRef(qf), perRef(kf), perRef(vf))), [B, k * l, D]);
      }
    } else {
      const cached = part.refs[b]!;
      const [qf, kf, vf] = o.split(qkvM!, [D, D, D], 2) as [Sym, Sym, Sym];
      const q = splitHeads(qf, c.heads);
      // Layout and target rows attend to every token, so no mask: keys [main | references].
      const kk = splitHeads(o.concat([kf, cached.k], 1), c.heads);
      am = mergeHeads(scaledDotProductAttention(q, kk, splitHeads(o.concat([vf, cached.v], 1), c.heads)));
      if (tapSet.has(b)) {
        if (!cached.q) throw new Error(`mosaic: block ${b} is tapped but its cached reference queries are missing`);
        taps.push({ block: b, qRef: splitHeads(cached.q, c.heads), kTgt: o.slice(kk, [seq.targetStart], [seq.refStart], [2]) });
      }
    }
    if (hm && am && modM) {
      const [, , gm1, sm2, cm2, gm2] = modM;
      hm = o.add(hm, gate(o.linear(am, wo, bo), gm1));
      hm = o.add(hm, gate(o.linear(o.gelu(o.linear(modulate(ln(hm), sm2, cm2), w1, b1)), w2, b2), gm2));
    }
    if (hr && ar && modR) {
      const [, , gr1, sr2, cr2, gr2] = modR;
      hr = o.add(hr, gate(o.linear(ar, woR, bo), gr1));
      if (b < c.depth - 1 || options.collectHidden) {
        // The last block's reference MLP cannot reach the output: skip it unless hidden states are inspected.
        hr = o.add(hr, gate(o.linear(o.gelu(o.linear(modulate(ln(hr), sr2, cr2), w1, b1)), w2R, b2), gr2));
      }
    }
    if (options.collectHidden && hm && hr) hidden.push({ main: hm, refs: hr });
  }

  const finAda = P('final.ada.w', [D, 2 * D], init.zeros());
  const finAdaB = P('final.ada.b', [2 * D], init.zeros(), false);
  const outW = P('final.w', [D, patchDim], init.zeros());
  const outB = P('final.b', [patchDim], init.zeros(), false);
  if (!hm || !cMain) return { velocity: null, taps, hidden, references };
  const [fs, fc] = o.split(o.linear(cMain, finAda, finAdaB), [D, D], 1) as [Sym, Sym];
  const tgt = o.slice(hm, [seq.targetStart], [seq.refStart], [1]);
  const velocity = o.linear(modulate(ln(tgt), fs, fc), outW, outB);
  return { velocity, taps, hidden, references };
}
