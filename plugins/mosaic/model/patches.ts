import type { ImageValue } from 'tessera';

/**
 * Image ↔ patch tokens. A token holds one patch's pixels in (row, column, channel) order, scaled
 * from [0, 255] to [−1, 1]; tokens are in row-major grid order.
 */
export function patchify(img: ImageValue, patch: number, out: Float32Array, offset = 0): void {
  const { width: W, height: H, channels: C, data } = img;
  const gw = W / patch;
  const gh = H / patch;
  const pd = patch * patch * 3;
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      let o = offset + (gy * gw + gx) * pd;
      for (let py = 0; py < patch; py++) {
        for (let px = 0; px < patch; px++) {
          const p = ((gy * patch + py) * W + gx * patch + px) * C;
          for (let c = 0; c < 3; c++) out[o++] = data[p + (C === 1 ? 0 : c)]! / 127.5 - 1;
        }
      }
    }
  }
}

/** Patch tokens [N·P] (values in [−1, 1], clipped) back to an RGB image. */
export function unpatchify(tokens: ArrayLike<number>, size: number, patch: number, offset = 0): ImageValue {
  const g = size / patch;
  const data = new Uint8Array(size * size * 3);
  let i = offset;
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      for (let py = 0; py < patch; py++) {
        for (let px = 0; px < patch; px++) {
          const p = ((gy * patch + py) * size + gx * patch + px) * 3;
          for (let c = 0; c < 3; c++) data[p + c] = Math.max(0, Math.min(255, Math.round((tokens[i++]! + 1) * 127.5)));
        }
      }
    }
  }
  return { width: size, height: size, channels: 3, data };
}

/**
 * One latent grid [C, h, w] (channel-major, as latent/Encode gives it) to patch tokens: token
 * (gy, gx) holds its patch×patch cells in (row, column, channel) order, times `scale`.
 */
export function patchifyLatent(z: ArrayLike<number>, channels: number, side: number, patch: number, scale: number, out: Float32Array, offset = 0): void {
  const g = side / patch;
  let o = offset;
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      for (let py = 0; py < patch; py++) {
        for (let px = 0; px < patch; px++) {
          const cell = (gy * patch + py) * side + gx * patch + px;
          for (let c = 0; c < channels; c++) out[o++] = z[c * side * side + cell]! * scale;
        }
      }
    }
  }
}

/** Inverse of {@link patchifyLatent}: tokens [N·P] at `offset` to a latent grid [C, side, side], divided by `scale`. */
export function unpatchifyLatent(tokens: ArrayLike<number>, channels: number, side: number, patch: number, scale: number, out: Float32Array, offset = 0): void {
  const g = side / patch;
  let i = offset;
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      for (let py = 0; py < patch; py++) {
        for (let px = 0; px < patch; px++) {
          const cell = (gy * patch + py) * side + gx * patch + px;
          for (let c = 0; c < channels; c++) out[c * side * side + cell] = tokens[i++]! / scale;
        }
      }
    }
  }
}
