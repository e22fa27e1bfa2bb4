"""PyTorch eager reference for bench/kernels/transformerStep.ts: the same pre-LN transformer block
(B=4, T=512, D=128, 4 heads, MLP 512, exact GELU, MSE, AdamW), float32.

Server mode (used by the bench so both sides alternate in short bursts): after warm-up it prints
one JSON line {core, threads}, then for every line "N" on stdin runs N steps and prints a JSON
list of step times in ms; "quit" exits."""
import math
import sys

import torch

from torch_serve import serve_steps

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
B, T, D, H, HID = 4, 512, 128, 4, 512


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(D)
        self.qkv = torch.nn.Linear(D, 3 * D)
        self.o = torch.nn.Linear(D, D)
        self.ln2 = torch.nn.LayerNorm(D)
        self.fc1 = torch.nn.Linear(D, HID)
        self.fc2 = torch.nn.Linear(HID, D)

    def forward(self, x):
        h = self.ln1(x)
        q, k, v = self.qkv(h).split(D, dim=-1)
        heads = lambda t: t.view(B, T, H, D // H).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        # No scaled_dot_product_attention in torch 1.13: matmul + softmax.
        p = torch.softmax((q * (1.0 / math.sqrt(D // H))) @ k.transpose(-1, -2), dim=-1)
        a = (p @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(a)
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


model = Block()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.sin(torch.arange(B * T * D, dtype=torch.float32) * 0.013).view(B, T, D) * 0.5
y = torch.sin(torch.arange(B * T * D, dtype=torch.float32) * 0.029).view(B, T, D) * 0.5


def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.mean((model(x) - y) ** 2)
    loss.backward()
    opt.step()
    return loss.item()


# Warm-up long enough for the allocator and OpenMP pool to settle (the first ~10 steps are slow).
for _ in range(25):
    step()
serve_steps(step)
