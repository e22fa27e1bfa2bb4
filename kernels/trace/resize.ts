/**
 * ONNX Resize (nearest and linear) as gathers at host-computed source indices plus, for linear,
 * a constant-weighted blend of the two neighbours: the gradient comes from gather's and mul's
 * VJPs, and any dtype works. One axis at a time (separable), as ONNX defines linear resizing.
 */
import { Tensor } from '../runtime/Tensor.ts';
import type { Sym } from './Sym.ts';
import * as o from './ops.ts';
import { TraceError } from './TraceError.ts';

export interface ResizeOptions {
  mode?: 'nearest' | 'linear';
  coordinateMode?: 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';
  nearestMode?: 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
}

/** Source coordinate of output index i (ONNX coordinate_transformation_mode). */
function sourceCoord(mode: NonNullable<ResizeOptions['coordinateMode']>, i: number, inSize: number, outSize: number, scale: number): number {
  switch (mode) {
    case 'half_pixel':
      return (i + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outSize > 1 ? (i + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outSize === 1 ? 0 : (i * (inSize - 1)) / (outSize - 1);
    case 'asymmetric':
      return i / scale;
    case 'tf_half_pixel_for_nn':
      return (i + 0.5) / scale;
    default:
      throw new TraceError('resize', `coordinate_transformation_mode '${String(mode)}' is not supported`);
  }
}

function roundNearest(mode: NonNullable<ResizeOptions['nearestMode']>, v: number): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return Math.round(v);
    case 'round_prefer_floor':
      return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
    default:
      throw new TraceError('resize', `nearest_mode '${String(mode)}' is not supported`);
  }
}

/** Resizes `x` to `outShape`; `scales` (per axis) when the export gave scales rather than sizes. */
export function resize(x: Sym, outShape: readonly number[], scales: readonly number[] | undefined, opts: ResizeOptions = {}): Sym {
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'linear') throw new TraceError('resize', `mode '${String(mode)}' is not supported (nearest and linear are)`);
  if (outShape.length !== x.rank) throw new TraceError('resize', `output shape [${outShape.join(', ')}] does not match ${x}`);
  const coord = opts.coordinateMode ?? 'half_pixel';
  let y = x;
  x.shape.forEach((inSize, a) => {
    const outSize = outShape[a]!;
    const scale = scales?.[a] ?? outSize / inSize;
    if (outSize === inSize && scale === 1) return;
    const src = Array.from({ length: outSize }, (_, i) => sourceCoord(coord, i, inSize, outSize, scale));
    const clampIdx = (v: number) => Math.min(Math.max(v, 0), inSize - 1);
    if (mode === 'nearest') {
      y = o.gather(y, src.map((v) => clampIdx(roundNearest(opts.nearestMode ?? 'round_prefer_floor', v))), a);
      return;
    }
    const c = src.map(clampIdx);
    const lo = c.map(Math.floor);
    const hi = lo.map((v) => Math.min(v + 1, inSize - 1));
    const wShape = outShape.map((d, i) => (i === a ? d : 1));
    const w = y.graph.constant(Tensor.from(c.map((v, i) => v - lo[i]!), wShape, y.dtype as 'float32'));
    const w0 = y.graph.constant(Tensor.from(c.map((v, i) => 1 - (v - lo[i]!)), wShape, y.dtype as 'float32'));
    y = o.add(o.mul(o.gather(y, lo, a), w0), o.mul(o.gather(y, hi, a), w));
  });
  return y;
}
