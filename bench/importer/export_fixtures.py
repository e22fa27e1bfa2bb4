#!/usr/bin/env python3
"""Exports the tiny PyTorch models the importer tests read (test/fixtures/onnx/).

Run by hand, never by tests ("no Python at run time"): /usr/bin/python3 bench/importer/export_fixtures.py
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


def randomize(model, gen):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.3)


def export(name, model, inputs, input_names, dynamic_axes, opset, dtype):
    model = model.to(dtype).eval()
    inputs = tuple(t.to(dtype) for t in inputs)
    path = os.path.join(OUT, f'{name}.onnx')
    torch.onnx.export(model, inputs, path, opset_version=opset, input_names=input_names, output_names=['y'],
                      dynamic_axes=dynamic_axes, do_constant_folding=False)
    y = model(*inputs)
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(11), dtype=torch.float64).to(dtype)
    loss = (y * w).sum()
    model.zero_grad()
    loss.backward()
    flat = lambda t: [float(v) for v in t.detach().reshape(-1).tolist()]
    record = {
        'opset': opset,
        'dtype': str(dtype).replace('torch.', ''),
        'torch': torch.__version__,
        'inputs': {n: {'shape': list(t.shape), 'values': flat(t)} for n, t in zip(input_names, inputs)},
        'output': {'shape': list(y.shape), 'values': flat(y)},
        'weights': flat(w),
        'loss': float(loss),
        'grads': {n: {'shape': list(p.shape), 'values': flat(p.grad)} for n, p in model.named_parameters()},
    }
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(record, f)
    print(f'{name}: {os.path.getsize(path)} B onnx, loss {float(loss):.6g}')


def main():
    os.makedirs(OUT, exist_ok=True)
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
