#!/usr/bin/env python3
"""Exports the tiny PyTorch models the importer tests read (test/fixtures/onnx/).

Run by hand, never by tests ("no Python at run time"): /usr/bin/python3 bench/importer/export_fixtures.py
(all but the UNet), `... export_fixtures.py extra` (the second wave only), `... export_fixtures.py unet`
(tiny_unet_op17 only).
Needs torch (bench/kernels/ensureTorch.sh installs Debian's python3-torch, 1.13).

Each model is exported at opsets 13 and 17 with dynamic batch/token axes (so reshape targets are
computed from Shape nodes) and do_constant_folding=False (so initializers keep their PyTorch
parameter names). Next to each <name>.onnx a <name>.json holds the fixed inputs, the forward
output, the loss  sum(output * weights)  and d loss / d param for every parameter.
Parameters are drawn at random so no two initializers are equal: the exporter would otherwise
merge them (tied weights), which these fixtures do not test.
"""
import json
import math
import os
import sys

import numpy as np

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'onnx')


class DiTBlock(nn.Module):
    """adaLN-Zero-style block: sin/cos timestep embedding, chunk(6), attention with computed reshapes."""

    def __init__(self, d=16, heads=2):
        super().__init__()
        self.d, self.heads = d, heads
        self.t_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, 6 * d))
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def timestep_embedding(self, t):
        half = self.d // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=t.dtype) / half)
        args = t[:, None] * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(self, x, t):
        b, n, d = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.t_mlp(self.timestep_embedding(t)).chunk(6, dim=1)
        h = self.norm1(x) * (1 + scale1.unsqueeze(1)) + shift1.unsqueeze(1)
        qkv = self.qkv(h).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5).softmax(dim=-1)
        h = (att @ v).transpose(1, 2).reshape(b, n, d)
        x = x + gate1.unsqueeze(1) * self.proj(h)
        h = self.norm2(x) * (1 + scale2.unsqueeze(1)) + shift2.unsqueeze(1)
        return x + gate2.unsqueeze(1) * self.mlp(h)


class TinyDiT(nn.Module):
    """A whole (tiny) DiT: image [B, 3, 16, 16] and flow time t [B] in, velocity [B, 3, 16, 16] out.
    Patchify conv (4×4), learned positions, two adaLN blocks, final LayerNorm + Linear, unpatchify."""

    def __init__(self, d=32, patch=4, size=16, depth=2):
        super().__init__()
        self.patch, self.size = patch, size
        self.embed = nn.Conv2d(3, d, patch, stride=patch)
        self.pos = nn.Parameter(torch.zeros(1, (size // patch) ** 2, d))
        self.blocks = nn.ModuleList([DiTBlock(d, 2) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, patch * patch * 3)

    def forward(self, x, t):
        b = x.shape[0]
        g, p = self.size // self.patch, self.patch
        h = self.embed(x).flatten(2).transpose(1, 2) + self.pos
        for blk in self.blocks:
            h = blk(h, t * 1000)
        h = self.out(self.norm(h))
        return h.reshape(b, g, g, p, p, 3).permute(0, 5, 1, 3, 2, 4).reshape(b, 3, self.size, self.size)


class MHA(nn.Module):
    def __init__(self, d=16, heads=4):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        y, _ = self.attn(x, x, x, need_weights=False)
        return self.out(y) + x.flip(1)


class GroupNormResize(nn.Module):
    """UNet/VAE-style: GroupNorm, SiLU, conv, nearest and bilinear upsampling."""

    def __init__(self, c=4):
        super().__init__()
        self.norm = nn.GroupNorm(2, c)
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.up_nearest = nn.Upsample(scale_factor=2, mode='nearest')
        self.up_linear = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)

    def forward(self, x):
        h = self.conv(nn.functional.silu(self.norm(x)))
        return self.up_nearest(h) + self.up_linear(x)


class EinsumAttention(nn.Module):
    """Original-DiT-style pieces written with einsum: scores, weighted values, a channel mix."""

    def __init__(self, d=8, heads=2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.mix = nn.Parameter(torch.zeros(d, d))

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).unbind(2)
        att = torch.einsum('bihd,bjhd->bhij', q, k).softmax(dim=-1)
        y = torch.einsum('bhij,bjhd->bihd', att, v).reshape(b, n, d)
        return torch.einsum('bnc,cd->bnd', y, self.mix)


class HalfWeights(nn.Module):
    """Weights stored in float16, computed in float32 (what a half-precision checkpoint exported
    with .float() casts looks like): float16 initializers behind Cast(to=FLOAT) nodes."""

    def __init__(self, d=8):
        super().__init__()
        self.ln_w = nn.Parameter(torch.zeros(d, dtype=torch.float16))
        self.ln_b = nn.Parameter(torch.zeros(d, dtype=torch.float16))
        self.w1 = nn.Parameter(torch.zeros(2 * d, d, dtype=torch.float16))
        self.b1 = nn.Parameter(torch.zeros(2 * d, dtype=torch.float16))
        self.w2 = nn.Parameter(torch.zeros(d, 2 * d, dtype=torch.float16))

    def forward(self, x):
        h = nn.functional.layer_norm(x, (self.ln_w.shape[0],), self.ln_w.float(), self.ln_b.float())
        h = nn.functional.gelu(nn.functional.linear(h, self.w1.float(), self.b1.float()))
        return nn.functional.linear(h, self.w2.float()) + x


class UNetAttention(nn.Module):
    """Self-attention over the pixels of a feature map (Stable-Diffusion-UNet/VAE style): GroupNorm,
    q/k/v as Linear layers over [B, H·W, C] tokens, `heads` heads, output projection, residual."""

    def __init__(self, c=16, heads=2):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(4, c)
        # No q/k/v biases, as in Stable Diffusion: a key bias has a zero gradient (softmax ignores
        # a shift shared by all keys), which no relative-error check can compare.
        self.to_q = nn.Linear(c, c, bias=False)
        self.to_k = nn.Linear(c, c, bias=False)
        self.to_v = nn.Linear(c, c, bias=False)
        self.to_out = nn.Linear(c, c)

    def split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)
        # q and k [B, heads, H·W, C/heads]: the tensors a correspondence loss taps.
        q, k, v = self.split(self.to_q(tokens)), self.split(self.to_k(tokens)), self.split(self.to_v(tokens))
        att = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, h * w, c)
        return x + self.to_out(y).transpose(1, 2).reshape(b, c, h, w)


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, plus the time embedding as a per-channel shift, twice, with a skip."""

    def __init__(self, c, temb):
        super().__init__()
        self.norm1 = nn.GroupNorm(2, c)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.time = nn.Linear(temb, c)
        self.norm2 = nn.GroupNorm(2, c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, emb):
        h = self.conv1(nn.functional.silu(self.norm1(x))) + self.time(emb)[:, :, None, None]
        return x + self.conv2(nn.functional.silu(self.norm2(h)))


class TinyUNet(nn.Module):
    """A (tiny) UNet/VAE-decoder-style velocity model: image x [B, 3, 16, 16], flow time t [B] and
    a condition image c [B, 3, 16, 16] (a reference, concatenated to x on channels) in, velocity
    [B, 3, 16, 16] out. Conv in, ResBlock, stride-2 conv down to 8×8, ResBlock + attention over the
    64 pixels, nearest ×2 Resize up, skip concat, GroupNorm, conv out."""

    def __init__(self, c=8, temb=16):
        super().__init__()
        self.temb = temb
        self.time_mlp = nn.Sequential(nn.Linear(temb, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.conv_in = nn.Conv2d(6, c, 3, padding=1)
        self.down_res = ResBlock(c, temb)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.mid_res = ResBlock(2 * c, temb)
        self.mid_attn = UNetAttention(2 * c, 2)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.up_conv = nn.Conv2d(2 * c, c, 3, padding=1)
        self.merge = nn.Conv2d(2 * c, c, 3, padding=1)
        self.norm_out = nn.GroupNorm(2, c)
        self.conv_out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x, t, c):
        half = self.temb // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=t.dtype) / half)
        args = (t * 1000)[:, None] * freqs[None]
        emb = self.time_mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))
        h0 = self.down_res(self.conv_in(torch.cat([x, c], dim=1)), emb)
        h = self.mid_attn(self.mid_res(self.down(h0), emb))
        h = self.merge(torch.cat([self.up_conv(self.up(h)), h0], dim=1))
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


def randomize(model, gen):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * 0.3).to(p.dtype))


def export(name, model, inputs, input_names, dynamic_axes, opset, dtype, fold=False):
    if dtype is not None:
        model = model.to(dtype)
        inputs = tuple(t.to(dtype) for t in inputs)
    model = model.eval()
    path = os.path.join(OUT, f'{name}.onnx')
    torch.onnx.export(model, inputs, path, opset_version=opset, input_names=input_names, output_names=['y'],
                      dynamic_axes=dynamic_axes, do_constant_folding=fold)
    y = model(*inputs)
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(11), dtype=torch.float64).to(y.dtype)
    loss = (y * w).sum()
    model.zero_grad()
    loss.backward()
    # float32 values need 9 significant digits to round-trip; float64 ones keep all 17.
    digits = '%.17g' if y.dtype == torch.float64 else '%.9g'
    flat = lambda t: [float(digits % v) for v in t.detach().double().reshape(-1).tolist()]
    record = {
        'opset': opset,
        'dtype': str(y.dtype).replace('torch.', ''),
        'torch': torch.__version__,
        'inputs': {n: {'shape': list(t.shape), 'values': flat(t)} for n, t in zip(input_names, inputs)},
        'output': {'shape': list(y.shape), 'values': flat(y)},
        'weights': flat(w),
        'loss': float(loss),
        'grads': {n: {'shape': list(p.shape), 'values': flat(p.grad)} for n, p in model.named_parameters()},
        'constantFolding': fold,
    }
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(record, f)
    print(f'{name}: {os.path.getsize(path)} B onnx, loss {float(loss):.6g}')


# --- External data: torch 1.13 writes it only past 2 GB (one file per tensor), so the fixture is
# rewritten here in the layout onnx.save_model(save_as_external_data=True) writes: every
# initializer's bytes in one side file, the TensorProto keeping location/offset/length.

def _varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def _enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _fields(b):
    """(field, wire, payload bytes incl. nothing of the key) in order; payload is the raw value."""
    i, out = 0, []
    while i < len(b):
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, j = _varint(b, i)
            out.append((f, w, b[i:j]))
            i = j
        elif w == 2:
            n, j = _varint(b, i)
            out.append((f, w, b[j:j + n]))
            i = j + n
        elif w == 1:
            out.append((f, w, b[i:i + 8]))
            i += 8
        elif w == 5:
            out.append((f, w, b[i:i + 4]))
            i += 4
        else:
            raise ValueError(f'wire type {w}')
    return out


def _emit(fields):
    out = bytearray()
    for f, w, p in fields:
        out += _enc_varint((f << 3) | w)
        if w == 2:
            out += _enc_varint(len(p))
        out += p
    return bytes(out)


def _entry(k, v):
    return (13, 2, _emit([(1, 2, k.encode()), (2, 2, v.encode())]))


def to_external(src, dst, data_name):
    """Copies src.onnx to dst.onnx with every initializer's raw_data moved to dst's folder/data_name."""
    model = _fields(open(src, 'rb').read())
    blob = bytearray()
    new_model = []
    for f, w, p in model:
        if f == 7:
            graph = []
            for gf, gw, gp in _fields(p):
                if gf == 5:
                    tensor = [t for t in _fields(gp) if t[0] != 9]
                    raw = [t[2] for t in _fields(gp) if t[0] == 9]
                    if raw:
                        offset = len(blob)
                        blob += raw[0]
                        tensor += [_entry('location', data_name), _entry('offset', str(offset)), _entry('length', str(len(raw[0]))), (14, 0, _enc_varint(1))]
                    gp = _emit(tensor)
                graph.append((gf, gw, gp))
            p = _emit(graph)
        new_model.append((f, w, p))
    open(dst, 'wb').write(_emit(new_model))
    open(os.path.join(os.path.dirname(dst), data_name), 'wb').write(bytes(blob))
    print(f'{os.path.basename(dst)}: {len(blob)} B external data in {data_name}')


def main():
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    if 'unet' in only:
        # Third wave (issue 15): the UNet/VAE-style fixture (conv, GroupNorm, Resize, attention, a condition image).
        gen = torch.Generator().manual_seed(23)
        unet = TinyUNet()
        randomize(unet, torch.Generator().manual_seed(8))
        inputs = (torch.randn(2, 3, 16, 16, generator=gen), torch.tensor([0.2, 0.9]), torch.randn(2, 3, 16, 16, generator=gen))
        export('tiny_unet_op17', unet, inputs, ['x', 't', 'c'], {'x': {0: 'batch'}, 't': {0: 'batch'}, 'c': {0: 'batch'}}, 17, torch.float32)
        return
    if not only or 'extra' in only:
        # Second wave (issue 15): external data, float16 weights, constant-folded (renamed) weights.
        dit = DiTBlock()
        randomize(dit, torch.Generator().manual_seed(1))
        gen = torch.Generator().manual_seed(17)
        x = torch.randn(2, 5, 16, generator=gen)
        t = torch.tensor([3.0, 250.0])
        export('dit_block_op17_folded', dit, (x, t), ['x', 't'], {'x': {0: 'batch', 1: 'tokens'}, 't': {0: 'batch'}}, 17, torch.float32, fold=True)
        to_external(os.path.join(OUT, 'dit_block_op17.onnx'), os.path.join(OUT, 'dit_block_op17_ext.onnx'), 'dit_block_op17_ext.weights')
        half = HalfWeights()
        randomize(half, torch.Generator().manual_seed(5))
        export('half_weights_op17', half, (torch.randn(2, 3, 8, generator=gen),), ['x'], {'x': {0: 'batch'}}, 17, None)
        dit = TinyDiT()
        randomize(dit, torch.Generator().manual_seed(6))
        export('tiny_dit_op17', dit, (torch.randn(2, 3, 16, 16, generator=gen), torch.tensor([0.1, 0.7])), ['x', 't'], {'x': {0: 'batch'}, 't': {0: 'batch'}}, 17, torch.float32)
        if only:
            return
    for opset in (13, 17):
        gen = torch.Generator().manual_seed(opset)
        for dtype, tag in ((torch.float32, ''), (torch.float64, '_f64')):
            dit = DiTBlock()
            randomize(dit, torch.Generator().manual_seed(1))
            x = torch.randn(2, 5, 16, generator=gen)
            t = torch.tensor([3.0, 250.0])
            export(f'dit_block_op{opset}{tag}', dit, (x, t), ['x', 't'], {'x': {0: 'batch', 1: 'tokens'}, 't': {0: 'batch'}}, opset, dtype)
        mha = MHA()
        randomize(mha, torch.Generator().manual_seed(2))
        export(f'mha_op{opset}', mha, (torch.randn(2, 5, 16, generator=gen),), ['x'], {'x': {0: 'batch', 1: 'tokens'}}, opset, torch.float32)
        ein = EinsumAttention()
        randomize(ein, torch.Generator().manual_seed(4))
        export(f'einsum_attention_op{opset}', ein, (torch.randn(2, 3, 8, generator=gen),), ['x'], {'x': {0: 'batch', 1: 'tokens'}}, opset, torch.float32)
        gn = GroupNormResize()
        randomize(gn, torch.Generator().manual_seed(3))
        export(f'groupnorm_resize_op{opset}', gn, (torch.randn(1, 4, 3, 5, generator=gen),), ['x'], {'x': {0: 'batch'}}, opset, torch.float32)


if __name__ == '__main__':
    main()
