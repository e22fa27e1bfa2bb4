import { Tensor } from 'tessera/kernels';

/**
 * Fixed 2-D sine/cosine position features [rows·cols, width] for a token grid. `scale` maps grid
 * units to a shared coordinate frame, so an 8×8 reference grid and a 16×16 target grid both span
 * the image (references are told apart by their learned slot offsets, not by position).
 */
export function positionFeatures(rows: number, cols: number, width: number, scale = 1): Tensor {
  const quarter = width / 4;
  const out = new Tensor('float32', [rows * cols, width]);
  const d = out.data as Float32Array;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const base = (y * cols + x) * width;
      for (let i = 0; i < quarter; i++) {
        const freq = 1 / Math.pow(100, i / quarter);
        const py = (y + 0.5) * scale * freq;
        const px = (x + 0.5) * scale * freq;
        d[base + i] = Math.sin(py);
        d[base + quarter + i] = Math.cos(py);
        d[base + 2 * quarter + i] = Math.sin(px);
        d[base + 3 * quarter + i] = Math.cos(px);
      }
    }
  }
  return out;
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
