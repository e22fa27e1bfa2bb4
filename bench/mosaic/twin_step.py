"""PyTorch twin of tessera's MOSAIC training step (plugins/mosaic/model/mosaicNetwork.ts and
mosaicPrograms.ts trainingStepProgram): the same tokens [layout K | target N | ref_1 L | ... | ref_K L],
the MOSAIC group mask, the reference branch's shared LoRA (patch embedding, QKV, output and second
MLP projections), adaLN modulation from the time embedding (references at t = 0), flow-matching
loss + alpha*SCAL + beta*MDL (JSD) on the reference->target correspondence map averaged over the
tapped blocks, global-norm clipping and AdamW. float32, eager, `threads` intra-op threads.

A bench tool (never a runtime dependency). It reads a case written by bench/mosaic/twinCase.ts:
case.json, params.safetensors (initial weights, tessera's [in, out] layout), inputs.safetensors
(the batch, host constants `const.*`, each step's flow-matching noise `noise.<s>`).

  twin_step.py check CASE_DIR OUT_DIR [threads]
      runs the case's steps with the given noise; writes OUT_DIR/torch.json (per step: loss,
      terms, gradient norm before clipping) and OUT_DIR/torch.safetensors (grad.<name> at the
      initial weights and step 0's noise; param.<name> after the steps).
  twin_step.py serve CASE_DIR [threads] [warmup]
      timing server for bench/mosaic/twinBench.ts: noise from torch.randn each step (what a
      PyTorch user writes; tessera draws it in-graph). After warm-up prints one JSON line
      {core, threads, torch}, then for every stdin line "N" runs N steps and prints a JSON list
      of step times in ms; "quit" exits.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernels"))
from torch_serve import serve_steps  # noqa: E402

NEG = -1e9  # tessera's attention mask fill (kernels/blocks/attention.ts)
LN_EPS = 1e-6
SCAL_EPS = 1e-9
MDL_EPS = 1e-8


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    body = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, the twin reads F32 only")
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"]).copy()
        out[name] = torch.from_numpy(arr)
    return out


def write_safetensors(path, tensors):
    header = {}
    chunks = []
    off = 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def lin(x, w, b=None):
    """x @ w (+ b) over the last axis, weights [in, out] as tessera stores them; one GEMM with the bias folded."""
    lead = x.shape[:-1]
    x2 = x.reshape(-1, w.shape[0])
    y = torch.mm(x2, w) if b is None else torch.addmm(b, x2, w)
    return y.view(*lead, w.shape[1])


def ln(x):
    return F.layer_norm(x, (x.shape[-1],), eps=LN_EPS)


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def kl(p, q):
    return (p * (torch.log(p + MDL_EPS) - torch.log(q + MDL_EPS))).sum(-1)


class Twin:
    def __init__(self, case_dir):
        with open(os.path.join(case_dir, "case.json")) as f:
            meta = json.load(f)
        c = meta["config"]
        if c.get("space", "pixel") != "pixel" or c.get("layoutPose") or c.get("refPositions", "grid") != "grid":
            raise ValueError("twin: only pixel-space models without layout pose (the small preset) are written here")
        self.meta = meta
        self.K = K = meta["k"]
        self.B = meta["batch"]
        self.D = D = c["width"]
        self.H = c["heads"]
        self.depth = c["depth"]
        self.rank = c["loraRank"]
        grid = c["targetSize"] // c["patch"]
        ref_grid = c["refSize"] // c["patch"]
        self.N = N = grid * grid
        self.L = L = ref_grid * ref_grid
        self.T = T = K + N + K * L
        self.tap_blocks = set(meta["tapBlocks"])
        raw = read_safetensors(os.path.join(case_dir, "params.safetensors"))
        self.p = {name: torch.nn.Parameter(t) for name, t in raw.items()}
        x = read_safetensors(os.path.join(case_dir, "inputs.safetensors"))
        self.x = x
        self.x0, self.t = x["x0"], x["t"]
        self.tfeat, self.refs, self.boxes, self.boxmap = x["tfeat"], x["refs"], x["boxes"], x["boxmap"]
        self.scal_w = x.get("scal.w")
        self.alpha = x.get("loss.alpha")
        self.mdl_w = x.get("mdl.w")
        self.beta = x.get("loss.beta")
        self.tgt_pos = x["const.tgt_pos"]  # [N, D]
        self.ref_pos_k = x["const.ref_pos"].repeat(K, 1)  # [K*L, D]
        self.t0_feat = x["const.t0_feat"]  # [1, D]
        self.ref_slot_index = torch.arange(K * L) // L
        # MOSAIC's group mask [layout | target | ref_1 .. ref_K]: layout and target see everything;
        # a reference sees layout, target and itself ('target') or only itself ('self').
        groups = torch.cat([torch.zeros(K, dtype=torch.long), torch.ones(N, dtype=torch.long), 2 + self.ref_slot_index])
        gi, gj = groups.view(-1, 1), groups.view(1, -1)
        if c["refAttention"] == "self":
            allow = (gi < 2) | (gi == gj)
        else:
            allow = (gi < 2) | (gj < 2) | (gi == gj)
        self.masked = ~allow  # [T, T], True where the score is replaced by NEG
        pairs = [(a, b) for a in range(K) for b in range(a + 1, K)]
        self.pair_i = torch.tensor([a for a, _ in pairs], dtype=torch.long)
        self.pair_j = torch.tensor([b for _, b in pairs], dtype=torch.long)
        o = meta["optimizer"]
        decay = set(meta["decay"])
        names = list(self.p.keys())
        self.opt = torch.optim.AdamW(
            [
                {"params": [self.p[n] for n in names if n in decay], "weight_decay": o["weightDecay"]},
                {"params": [self.p[n] for n in names if n not in decay], "weight_decay": 0.0},
            ],
            lr=o["lr"],
            betas=(o["beta1"], o["beta2"]),
            eps=o["eps"],
        )
        self.clip = o["clipGradNorm"]

    def lora(self, name, w):
        if self.rank == 0:
            return w
        return w + self.p[f"{name}.lora_a"] @ self.p[f"{name}.lora_b"]

    def heads(self, t):
        B, T, _ = t.shape
        return t.view(B, T, self.H, self.D // self.H).transpose(1, 2)

    def losses(self, noise):
        p, K, N, L, D, B = self.p, self.K, self.N, self.L, self.D, self.B
        tb = self.t.view(B, 1, 1)
        xt = (1 - tb) * self.x0 + tb * noise
        target = noise - self.x0
        emb_w, emb_b = p["embed.w"], p["embed.b"]
        slots = p["embed.slot"][:K]
        tgt = lin(xt, emb_w, emb_b) + self.tgt_pos + self.boxmap @ slots
        layout = lin(self.boxes, p["embed.box_w"]) + slots + p["embed.layout"]
        hm = torch.cat([layout, tgt], 1)  # [B, K+N, D]

        def time_emb(f):
            return F.silu(lin(F.silu(lin(f, p["time.w1"], p["time.b1"])), p["time.w2"], p["time.b2"]))

        c_main = time_emb(self.tfeat)  # [B, D]
        ref_slots = p["embed.slot"][self.ref_slot_index]
        hr = lin(self.refs, self.lora("embed", emb_w), emb_b) + self.ref_pos_k + ref_slots  # [B, K*L, D]
        c_ref = time_emb(self.t0_feat)  # [1, D]
        scale = 1.0 / math.sqrt(D // self.H)
        maps = []
        for b in range(self.depth):
            pre = f"block{b}"
            ada_w, ada_b = p[f"{pre}.ada.w"], p[f"{pre}.ada.b"]
            wqkv, bqkv = p[f"{pre}.attn.wqkv"], p[f"{pre}.attn.bqkv"]
            wo, bo = p[f"{pre}.attn.wo"], p[f"{pre}.attn.bo"]
            w1, b1 = p[f"{pre}.mlp.w1"], p[f"{pre}.mlp.b1"]
            w2, b2 = p[f"{pre}.mlp.w2"], p[f"{pre}.mlp.b2"]
            mm = lin(c_main, ada_w, ada_b).split(D, 1)
            mr = lin(c_ref, ada_w, ada_b).split(D, 1)
            qkv_m = lin(modulate(ln(hm), mm[0], mm[1]), wqkv, bqkv)
            qkv_r = lin(modulate(ln(hr), mr[0], mr[1]), self.lora(f"{pre}.attn.qkv", wqkv), bqkv)
            qf, kf, vf = torch.cat([qkv_m, qkv_r], 1).split(D, 2)
            q, k, v = self.heads(qf), self.heads(kf), self.heads(vf)
            scores = (q * scale) @ k.transpose(-1, -2)
            att = torch.softmax(scores.masked_fill(self.masked, NEG), -1) @ v
            att = att.transpose(1, 2).reshape(B, self.T, D)
            am, ar = att[:, : K + N], att[:, K + N :]
            if b in self.tap_blocks:
                q_ref, k_tgt = q[:, :, K + N :], k[:, :, K : K + N]
                maps.append(torch.softmax((q_ref * scale) @ k_tgt.transpose(-1, -2), -1).mean(1))
            hm = hm + lin(am, wo, bo) * mm[2].unsqueeze(1)
            hm = hm + lin(F.gelu(lin(modulate(ln(hm), mm[3], mm[4]), w1, b1)), w2, b2) * mm[5].unsqueeze(1)
            hr = hr + lin(ar, self.lora(f"{pre}.attn.o", wo), bo) * mr[2].unsqueeze(1)
            if b < self.depth - 1:  # the last block's reference MLP reaches no output (tessera skips it too)
                hr = hr + lin(F.gelu(lin(modulate(ln(hr), mr[3], mr[4]), w1, b1)), self.lora(f"{pre}.mlp.2", w2), b2) * mr[5].unsqueeze(1)
        fs, fc = lin(c_main, p["final.ada.w"], p["final.ada.b"]).split(D, 1)
        velocity = lin(modulate(ln(hm[:, K : K + N]), fs, fc), p["final.w"], p["final.b"])
        diffusion = torch.mean((velocity - target) ** 2)
        terms = {"diffusion": diffusion}
        loss = diffusion
        if maps:
            amap = sum(maps[1:], maps[0]) / len(maps) if len(maps) > 1 else maps[0]  # [B, K*L, N]
            if self.scal_w is not None:
                scal = -(self.scal_w * torch.log(amap + SCAL_EPS)).sum()
                loss = loss + self.alpha * scal
                terms["scal"] = scal
            if self.mdl_w is not None and K >= 2:
                pooled = self.mdl_w @ amap  # [B, K, N]
                a = pooled / pooled.sum(-1, keepdim=True)
                pa, qa = a[:, self.pair_i], a[:, self.pair_j]
                m = (pa + qa) * 0.5
                mdl = -torch.mean((kl(pa, m) + kl(qa, m)) * 0.5)
                loss = loss + self.beta * mdl
                terms["mdl"] = mdl
        return loss, terms

    def backward(self, noise):
        self.opt.zero_grad(set_to_none=True)
        loss, terms = self.losses(noise)
        loss.backward()
        # tessera's flat buffer gives every declared parameter a gradient (zero where unused), so
        # AdamW's weight decay reaches them too; PyTorch would skip a parameter whose grad is None.
        for t in self.p.values():
            if t.grad is None:
                t.grad = torch.zeros_like(t)
        return loss, terms

    def step(self, noise=None):
        if noise is None:
            noise = torch.randn(self.B, self.N, self.x0.shape[2])
        loss, terms = self.backward(noise)
        norm = torch.nn.utils.clip_grad_norm_(self.p.values(), self.clip)
        self.opt.step()
        return loss, terms, norm


def check(case_dir, out_dir):
    twin = Twin(case_dir)
    steps = twin.meta["steps"]
    rows = []
    grads = {}
    for s in range(steps):
        loss, terms = twin.backward(twin.x[f"noise.{s}"])
        if s == 0:
            grads = {f"grad.{n}": t.grad.detach().clone() for n, t in twin.p.items()}
        norm = torch.nn.utils.clip_grad_norm_(twin.p.values(), twin.clip)
        twin.opt.step()
        row = {"loss": loss.item(), "gradNorm": float(norm)}
        row.update({k: v.item() for k, v in terms.items()})
        rows.append(row)
    os.makedirs(out_dir, exist_ok=True)
    out = dict(grads)
    out.update({f"param.{n}": t.detach() for n, t in twin.p.items()})
    write_safetensors(os.path.join(out_dir, "torch.safetensors"), out)
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "steps": rows}
    with open(os.path.join(out_dir, "torch.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


def serve(case_dir, warmup):
    twin = Twin(case_dir)
    for _ in range(warmup):
        twin.step()
    serve_steps(twin.step)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "serve"):
        sys.exit(__doc__)
    mode, case = sys.argv[1], sys.argv[2]
    if mode == "check":
        torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
        check(case, sys.argv[3])
    else:
        torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
        torch.manual_seed(0)
        serve(case, int(sys.argv[4]) if len(sys.argv) > 4 else 5)
