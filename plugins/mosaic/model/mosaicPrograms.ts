import { type Graph, type ModelFn, type Sym, flowMatchingNoise, ops as o } from 'tessera/kernels';
import { correspondenceMap, mdlLoss, scalLoss } from '../losses/index.ts';
import { dims, layoutDim, type MosaicConfig } from './MosaicConfig.ts';
import { mainBranch, mosaicNetwork, referenceBranch, type MosaicOutputs } from './mosaicNetwork.ts';

/** Declares the network's batch inputs (names match MosaicBatch and the samplers' feeds). */
export function networkInputs(g: Graph, c: MosaicConfig, k: number, batch: number) {
  const { l, patchDim } = dims(c);
  return {
    refs: g.input('refs', [batch, k * l, patchDim]),
    ...conditionInputs(g, c, k, batch),
    ...(c.refPositions === 'pose' ? { refpos: g.input('refpos', [batch, k * l, c.width]) } : {}),
  };
}

/** The inputs of the layout and target tokens besides x_t: layout, box map, time features. */
function conditionInputs(g: Graph, c: MosaicConfig, k: number, batch: number) {
  const { n } = dims(c);
  return {
    boxes: g.input('boxes', [batch, k, layoutDim(c)]),
    boxmap: g.input('boxmap', [batch, n, k]),
    tfeat: g.input('tfeat', [batch, c.width]),
  };
}

/** Which loss terms a training graph contains. */
export interface TrainingTerms {
  scal: boolean;
  /** Ignored for K = 1 (MDL needs two references). */
  mdl: { distance: 'jsd' | 'skl' } | null;
  tapBlocks: readonly number[];
  /**
   * Subject-weighted flow loss: each target token's squared error is weighted by the `tokw`
   * input [B, N] (background + (1 − background)·subject share, built by the training program)
   * and the sum divided by the weights' sum. false: the plain mean.
   */
  subjectWeighted?: boolean;
}

/**
 * The training-step program for batches of `batch` samples with K references: flow matching
 * (x_t = (1 − t)·x0 + t·ε, regress ε − x0; ε drawn in-graph from the step seed) plus α·SCAL and
 * β·MDL on the reference→target correspondence map. α and β are graph inputs, so β's warm-up
 * never retraces the graph.
 */
export function trainingStepProgram(c: MosaicConfig, k: number, batch: number, terms: TrainingTerms): ModelFn {
  const { n, l, patchDim } = dims(c);
  return (g) => {
    const x0 = g.input('x0', [batch, n, patchDim]);
    const t = g.input('t', [batch]);
    const ins = networkInputs(g, c, k, batch);
    const noise = o.randomNormal(g, [batch, n, patchDim]);
    const { xt, target } = flowMatchingNoise(x0, noise, t);
    const useMdl = terms.mdl !== null && k >= 2;
    const taps = terms.scal || useMdl ? terms.tapBlocks : [];
    const net: MosaicOutputs = mosaicNetwork(g, c, k, { xt, ...ins }, { tapBlocks: taps });
    const sq = o.square(o.sub(net.velocity, target));
    let diffusion: Sym;
    if (terms.subjectWeighted) {
      const w = g.input('tokw', [batch, n]);
      // A batch with no subject pixel and background 0 has Σw = 0: a zero loss, not 0/0.
      diffusion = o.div(o.sum(o.mul(o.mean(sq, [2]), w)), o.maximum(o.sum(w), 1e-6));
    } else diffusion = o.mean(sq);
    const outputs: Record<string, Sym> = { diffusion };
    let loss = diffusion;
    if (taps.length) {
      const map = correspondenceMap(net.taps);
      if (terms.scal) {
        const scal = scalLoss(map, g.input('scal.w', [batch, k * l, n]));
        loss = o.add(loss, o.mul(g.input('loss.alpha', []), scal));
        outputs.scal = scal;
      }
      if (useMdl) {
        const mdl = mdlLoss(map, g.input('mdl.w', [batch, k, k * l]), { distance: terms.mdl!.distance });
        loss = o.add(loss, o.mul(g.input('loss.beta', []), mdl));
        outputs.mdl = mdl;
      }
    }
    return { loss, outputs };
  };
}

/**
 * The sampling program: velocity at (x_t, t), and optionally the correspondence map averaged
 * over `mapBlocks` (for heatmaps and PCK).
 */
export function velocityProgram(c: MosaicConfig, k: number, batch: number, mapBlocks: readonly number[] = []) {
  const { n, patchDim } = dims(c);
  return (g: Graph): Record<string, Sym> => {
    const xt = g.input('xt', [batch, n, patchDim]);
    const ins = networkInputs(g, c, k, batch);
    const net = mosaicNetwork(g, c, k, { xt, ...ins }, { tapBlocks: mapBlocks });
    return mapBlocks.length ? { velocity: net.velocity, map: correspondenceMap(net.taps) } : { velocity: net.velocity };
  };
}

/** Names of one block's cached reference tensors (outputs of referenceProgram, inputs of cachedVelocityProgram). */
export const referenceKVNames = (block: number) => ({ k: `ref.k.${block}`, v: `ref.v.${block}`, q: `ref.q.${block}` });

/**
 * The reference branch of a `refAttention: 'self'` model: per block its reference keys and values
 * [B, K·L, D] (and queries for `mapBlocks`), named by {@link referenceKVNames}. They depend on the
 * references only, so a sampler runs this once per batch and feeds the result to every step of
 * {@link cachedVelocityProgram}.
 */
export function referenceProgram(c: MosaicConfig, k: number, batch: number, mapBlocks: readonly number[] = []) {
  const { l, patchDim } = dims(c);
  return (g: Graph): Record<string, Sym> => {
    const refs = g.input('refs', [batch, k * l, patchDim]);
    const refpos = c.refPositions === 'pose' ? g.input('refpos', [batch, k * l, c.width]) : undefined;
    const out: Record<string, Sym> = {};
    referenceBranch(g, c, k, { refs, refpos }, { tapBlocks: mapBlocks }).forEach((r, b) => {
      const names = referenceKVNames(b);
      out[names.k] = r.k;
      out[names.v] = r.v;
      if (r.q) out[names.q] = r.q;
    });
    return out;
  };
}

/**
 * {@link velocityProgram} for a `refAttention: 'self'` model with the references' K/V given
 * (from {@link referenceProgram}): only the layout and target tokens are computed.
 */
export function cachedVelocityProgram(c: MosaicConfig, k: number, batch: number, mapBlocks: readonly number[] = []) {
  const { n, l, patchDim } = dims(c);
  return (g: Graph): Record<string, Sym> => {
    const xt = g.input('xt', [batch, n, patchDim]);
    const tapped = new Set(mapBlocks);
    const refs = Array.from({ length: c.depth }, (_, b) => {
      const names = referenceKVNames(b);
      return { k: g.input(names.k, [batch, k * l, c.width]), v: g.input(names.v, [batch, k * l, c.width]), q: tapped.has(b) ? g.input(names.q, [batch, k * l, c.width]) : null };
    });
    const net = mainBranch(g, c, k, { xt, ...conditionInputs(g, c, k, batch) }, refs, { tapBlocks: mapBlocks });
    return mapBlocks.length ? { velocity: net.velocity, map: correspondenceMap(net.taps) } : { velocity: net.velocity };
  };
}
