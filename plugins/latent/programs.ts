import { Graph, ops, weightedMSE, type ModelFn, type PredictFn } from 'tessera/kernels';
import { downFactor, type AutoencoderConfig } from './config.ts';
import { decoder, encoder } from './network.ts';

/**
 * The autoencoder's traced programs at one static batch size and image size (kernels traces
 * static shapes; callers cache one program per shape).
 */

/**
 * Training step: inputs x [B, 3, H, W] (pixels in [-1, 1]), w [B, 1, H, W] (loss weights), m
 * [B, 1, H, W] (subject mask, only for the logged subject-pixel error). Loss: weighted MSE of the
 * reconstruction. Outputs: `mse` (plain, whole image) and `subjectMse` (subject pixels only).
 */
export function reconstructionLoss(g: Graph, c: AutoencoderConfig, batch: number, h: number, w: number) {
  const x = g.input('x', [batch, 3, h, w]);
  const wt = g.input('w', [batch, 1, h, w]);
  const m = g.input('m', [batch, 1, h, w]);
  const y = decoder(g, encoder(g, x, c), c);
  const sq = ops.square(ops.sub(y, x));
  const subjectMse = ops.div(ops.sum(ops.mul(sq, m)), ops.maximum(ops.mul(ops.sum(m), 3), 1));
  return { loss: weightedMSE(y, x, wt), y, mse: ops.mean(sq), subjectMse };
}

export function trainingStepProgram(c: AutoencoderConfig, batch: number, h: number, w: number): ModelFn {
  return (g) => {
    const r = reconstructionLoss(g, c, batch, h, w);
    return { loss: r.loss, outputs: { mse: r.mse, subjectMse: r.subjectMse } };
  };
}

/** Images x [B, 3, H, W] → latents z [B, C, H/f, W/f]. */
export function encodeProgram(c: AutoencoderConfig, batch: number, h: number, w: number): PredictFn {
  return (g) => ({ z: encoder(g, g.input('x', [batch, 3, h, w]), c) });
}

/** Latents z [B, C, h, w] → images y [B, 3, h·f, w·f], clipped to [-1, 1]. */
export function decodeProgram(c: AutoencoderConfig, batch: number, h: number, w: number): PredictFn {
  return (g) => ({ y: ops.clip(decoder(g, g.input('z', [batch, c.latentChannels, h, w]), c), -1, 1) });
}

/** Names and shapes of every parameter a config traces (independent of image size). */
export function expectedParams(c: AutoencoderConfig): Map<string, readonly number[]> {
  const f = downFactor(c);
  const g = new Graph();
  trainingStepProgram(c, 1, f, f)(g);
  return new Map([...g.params.values()].map((p) => [p.name, p.shape]));
}
