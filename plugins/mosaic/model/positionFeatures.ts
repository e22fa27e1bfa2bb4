import { Tensor } from 'tessera/kernels';

/**
 * Fixed 2-D sine/cosine position features [rows·cols, width] for a token grid. `scale` maps grid
 * units to a shared coordinate frame, so an 8×8 reference grid and a 16×16 target grid both span
 * the image (references are told apart by their learned slot offsets, not by position).
 */
export function positionFeatures(rows: number, cols: number, width: number, scale = 1): Tensor {
  const points = new Float64Array(rows * cols * 2);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      points[(y * cols + x) * 2] = (x + 0.5) * scale;
      points[(y * cols + x) * 2 + 1] = (y + 0.5) * scale;
    }
  }
  const out = new Tensor('float32', [rows * cols, width]);
  positionFeaturesAt(points, width, out.data as Float32Array);
  return out;
}

/**
 * Sine/cosine features of arbitrary points (x, y pairs, in target-grid units: a token's centre is
 * at index + 0.5) written to `out` at `offset`, `width` values per point — the same features
 * {@link positionFeatures} gives grid cells, so a point warped onto a target cell's centre gets
 * exactly that cell's features.
 */
export function positionFeaturesAt(points: ArrayLike<number>, width: number, out: Float32Array, offset = 0): void {
  const quarter = width / 4;
  for (let p = 0; p < points.length / 2; p++) {
    const base = offset + p * width;
    const px0 = points[2 * p]!;
    const py0 = points[2 * p + 1]!;
    for (let i = 0; i < quarter; i++) {
      const freq = 1 / Math.pow(100, i / quarter);
      out[base + i] = Math.sin(py0 * freq);
      out[base + quarter + i] = Math.cos(py0 * freq);
      out[base + 2 * quarter + i] = Math.sin(px0 * freq);
      out[base + 3 * quarter + i] = Math.cos(px0 * freq);
    }
  }
}

/**
 * Sinusoidal features [B, width] of the diffusion time per batch element. Computed on the host
 * and fed to the graph (the traced op set has no Sin/Cos; the table is tiny).
 */
export function timeFeatures(t: ArrayLike<number>, width: number): Tensor {
  const half = width / 2;
  const out = new Tensor('float32', [t.length, width]);
  const d = out.data as Float32Array;
  for (let b = 0; b < t.length; b++) {
    for (let i = 0; i < half; i++) {
      const a = t[b]! * 1000 / Math.pow(10000, i / half);
      d[b * width + i] = Math.sin(a);
      d[b * width + half + i] = Math.cos(a);
    }
  }
  return out;
}
