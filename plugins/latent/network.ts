import { init, ops, type Graph, type Sym } from 'tessera/kernels';
import type { AutoencoderConfig } from './config.ts';

/**
 * The convolutional autoencoder as traced tensor programs (NCHW, pixels in [-1, 1]). No
 * normalisation layers: residual blocks whose second convolution starts at zero keep every block
 * an identity at initialisation, which trains stably without them.
 */

/** PyTorch's default conv initialisation: uniform(±1/√fan_in). */
function conv(g: Graph, name: string, x: Sym, cin: number, cout: number, k: number, o: { stride?: number; pad?: number; zero?: boolean } = {}): Sym {
  const w = g.param(`${name}.w`, [cout, cin, k, k], { init: o.zero ? init.zeros() : init.uniform(1 / Math.sqrt(cin * k * k)) });
  const b = g.param(`${name}.b`, [cout], { init: init.zeros(), decay: false });
  return ops.conv2d(x, w, b, { stride: o.stride ?? 1, pad: o.pad ?? (k - 1) / 2 });
}

/** 2× upsampling: a 4×4 transposed convolution with stride 2 and padding 1 (exact doubling). */
function up(g: Graph, name: string, x: Sym, cin: number, cout: number): Sym {
  const w = g.param(`${name}.w`, [cin, cout, 4, 4], { init: init.uniform(1 / Math.sqrt(cin * 4)) });
  const b = g.param(`${name}.b`, [cout], { init: init.zeros(), decay: false });
  return ops.convTranspose2d(x, w, b, { stride: 2, pad: 1 });
}

function resBlock(g: Graph, name: string, x: Sym, c: number): Sym {
  const h = conv(g, `${name}.conv1`, ops.silu(x), c, c, 3);
  return ops.add(x, conv(g, `${name}.conv2`, ops.silu(h), c, c, 3, { zero: true }));
}

/** Image batch [B, 3, H, W] → latents [B, latentChannels, H/f, W/f]. */
export function encoder(g: Graph, x: Sym, c: AutoencoderConfig): Sym {
  const ch = c.channels;
  let h = conv(g, 'enc.in', x, 3, ch[0]!, 3);
  for (let i = 0; i < ch.length; i++) {
    for (let r = 0; r < c.resBlocks; r++) h = resBlock(g, `enc.${i}.res${r}`, h, ch[i]!);
    if (i + 1 < ch.length) h = conv(g, `enc.${i}.down`, h, ch[i]!, ch[i + 1]!, 3, { stride: 2, pad: 1 });
  }
  return conv(g, 'enc.out', ops.silu(h), ch[ch.length - 1]!, c.latentChannels, 1);
}

/** Latents [B, latentChannels, h, w] → images [B, 3, h·f, w·f] (unbounded; clip to [-1, 1] for pixels). */
export function decoder(g: Graph, z: Sym, c: AutoencoderConfig): Sym {
  const ch = c.channels;
  const last = ch.length - 1;
  let h = conv(g, 'dec.in', z, c.latentChannels, ch[last]!, 3);
  for (let i = last; i >= 0; i--) {
    for (let r = 0; r < c.resBlocks; r++) h = resBlock(g, `dec.${i}.res${r}`, h, ch[i]!);
    if (i > 0) h = up(g, `dec.${i}.up`, ops.silu(h), ch[i]!, ch[i - 1]!);
  }
  return conv(g, 'dec.out', ops.silu(h), ch[0]!, 3, 3);
}
