#!/usr/bin/env python3
"""bench/gpu/torch_ref.py: the GPU check's PyTorch reference, same shapes.

The steps bench/gpu/check.sh times in medflow (GoMLX on XLA/CUDA), written
in PyTorch on the same GPU, so that BENCHMARKS.md can state a ratio rather
than a bare number:

  train/mae        ViT-S/16 MAE step at 224 px, grayscale, mask 0.75,
                   decoder width 256 x 4 blocks, batch 64, AdamW + clip 1.0
  train/clf        ViT-S/16 + attention pool (1 query, 6 heads) + 14-label
                   BCE head, fine-tune, batch 64, AdamW + clip 1.0
  embed            Llama of Llama-2-7B's width (dim 4096, 32 heads, MLP
                   11008), LAYERS layers, forward over batch_tokens=8192
                   (32 x 256) tokens, mean-pooled: tokens/s

Each is run in float32 (TF32 matmuls off: what medflow's float32 graphs
ask for) and with bf16 autocast (what a tuned PyTorch user would run).
Timing: 3 warm-up steps, then STEPS steps each synchronised; the median
step time is reported. Output: Go benchmark lines on stdout
(BenchmarkGPUCheck/torch/...) for internal/cmd/benchreport.
"""
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

STEPS = int(os.environ.get("TORCH_STEPS", "20"))
LAYERS = int(os.environ.get("LAYERS", "2"))
dev = torch.device("cuda")


class Block(nn.Module):
    def __init__(self, w, heads, mlp=4):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(w), nn.LayerNorm(w)
        self.attn = nn.MultiheadAttention(w, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(w, w * mlp), nn.GELU(), nn.Linear(w * mlp, w))

    def forward(self, x):
        h = self.n1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.n2(x))


class ViT(nn.Module):
    def __init__(self, size=224, patch=16, w=384, depth=12, heads=6):
        super().__init__()
        self.patch, self.n = patch, (size // patch) ** 2
        self.embed = nn.Linear(patch * patch, w)
        self.pos = nn.Parameter(torch.randn(1, self.n, w) * 0.02)
        self.blocks = nn.ModuleList([Block(w, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(w)

    def patches(self, img):  # (B,1,H,W) -> (B,N,p*p)
        p = self.patch
        b = img.shape[0]
        x = img.unfold(2, p, p).unfold(3, p, p)  # B,1,h,w,p,p
        return x.reshape(b, -1, p * p)

    def encode(self, tokens, keep=None):
        x = self.embed(tokens) + self.pos if keep is None else \
            self.embed(tokens) + torch.gather(self.pos.expand(tokens.shape[0], -1, -1), 1,
                                              keep[..., None].expand(-1, -1, self.pos.shape[-1]))
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


class MAE(nn.Module):
    def __init__(self, enc, dw=256, depth=4, heads=8, ratio=0.75):
        super().__init__()
        self.enc, self.ratio = enc, ratio
        w = enc.pos.shape[-1]
        self.proj = nn.Linear(w, dw)
        self.mask = nn.Parameter(torch.zeros(1, 1, dw))
        self.pos = nn.Parameter(torch.randn(1, enc.n, dw) * 0.02)
        self.blocks = nn.ModuleList([Block(dw, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dw)
        self.out = nn.Linear(dw, enc.patch * enc.patch)

    def forward(self, img):
        p = self.enc.patches(img)
        b, n, _ = p.shape
        k = int(n * (1 - self.ratio))
        perm = torch.rand(b, n, device=img.device).argsort(1)
        keep, hide = perm[:, :k], perm[:, k:]
        vis = torch.gather(p, 1, keep[..., None].expand(-1, -1, p.shape[-1]))
        z = self.proj(self.enc.encode(vis, keep))
        full = self.mask.expand(b, n, -1).to(z.dtype).clone()
        full.scatter_(1, keep[..., None].expand(-1, -1, z.shape[-1]), z)
        x = full + self.pos
        for blk in self.blocks:
            x = blk(x)
        pred = self.out(self.norm(x))
        tgt = torch.gather(p, 1, hide[..., None].expand(-1, -1, p.shape[-1]))
        pr = torch.gather(pred, 1, hide[..., None].expand(-1, -1, p.shape[-1]))
        return F.mse_loss(pr, tgt)


class Classifier(nn.Module):
    def __init__(self, enc, labels=14, heads=6):
        super().__init__()
        self.enc = enc
        w = enc.pos.shape[-1]
        self.q = nn.Parameter(torch.randn(1, 1, w) * 0.02)
        self.pool = nn.MultiheadAttention(w, heads, batch_first=True)
        self.head = nn.Linear(w, labels)

    def forward(self, img, y):
        x = self.enc.encode(self.enc.patches(img))
        f = self.pool(self.q.expand(x.shape[0], -1, -1), x, x, need_weights=False)[0][:, 0]
        return F.binary_cross_entropy_with_logits(self.head(f), y)


def timed(step, n):
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def train_row(name, model, batch_fn, bf16, bs=64):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    args = batch_fn()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = model(*args)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    s = timed(step, STEPS)
    prec = "bf16" if bf16 else "fp32"
    return f"BenchmarkGPUCheck/torch/train/{name}-{prec}\t{STEPS}\t{int(s * 1e9)} ns/op\t{bs / s:.1f} img/s"


class Llama(nn.Module):
    def __init__(self, vocab=32000, dim=4096, heads=32, hidden=11008, layers=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.heads = heads
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict(dict(
                n1=nn.RMSNorm(dim), n2=nn.RMSNorm(dim), qkv=nn.Linear(dim, 3 * dim, bias=False),
                o=nn.Linear(dim, dim, bias=False), gu=nn.Linear(dim, 2 * hidden, bias=False),
                d=nn.Linear(hidden, dim, bias=False))))
        self.norm = nn.RMSNorm(dim)
        hd = dim // heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(4096).float(), inv)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)

    def rope(self, x):  # B,H,T,D
        t = x.shape[2]
        c, s = self.cos[:t], self.sin[:t]
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), -1).flatten(-2)

    def forward(self, ids, mask):
        x = self.emb(ids)
        b, t, d = x.shape
        for L in self.layers:
            h = L["n1"](x)
            q, k, v = L["qkv"](h).view(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(self.rope(q), self.rope(k), v, is_causal=True)
            x = x + L["o"](a.transpose(1, 2).reshape(b, t, d))
            g, u = L["gu"](L["n2"](x)).chunk(2, -1)
            x = x + L["d"](F.silu(g) * u)
        x = self.norm(x)
        m = mask[..., None].to(x.dtype)
        return F.normalize((x * m).sum(1) / m.sum(1), dim=-1)


def embed_row(bf16, layers):
    torch.manual_seed(0)
    m = Llama(layers=layers).to(dev).eval()
    b, t = 32, 256
    ids = torch.randint(0, 32000, (b, t), device=dev)
    mask = torch.ones(b, t, device=dev)

    def step():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            m(ids, mask)
    s = timed(step, STEPS)
    prec = "bf16" if bf16 else "fp32"
    return f"BenchmarkGPUCheck/torch/embed/{prec}\t{STEPS}\t{int(s * 1e9)} ns/op\t{b * t / s:.1f} tokens/s"


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"# torch {torch.__version__} on {torch.cuda.get_device_name()}; medians of {STEPS} steps", file=sys.stderr)
    rows = []
    for bf16 in (False, True):
        torch.manual_seed(0)
        img = lambda: (torch.randn(64, 1, 224, 224, device=dev),)
        rows.append(train_row("mae", MAE(ViT()).to(dev), img, bf16))
        torch.manual_seed(0)
        lab = lambda: (torch.randn(64, 1, 224, 224, device=dev), (torch.rand(64, 14, device=dev) > 0.8).float())
        rows.append(train_row("clf", Classifier(ViT()).to(dev), lab, bf16))
        rows.append(embed_row(bf16, LAYERS))
        for r in rows[-3:]:
            print(r, flush=True)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
