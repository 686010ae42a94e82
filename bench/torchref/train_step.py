#!/usr/bin/env python3
"""bench/torchref/train_step.py: PyTorch on the CPU, the training step that
train/bench_test.go times in medflow, for `make bench`'s ratio rows.

  tiny     BenchmarkTrainStep/custom/batch64's step: 64 px grayscale, patch
           8, width 64, 2 pre-LN blocks, 4 heads, MLP 4x with tanh GELU,
           fixed 2-D sin-cos positions, final LayerNorm, mean pool,
           LayerNorm + 14-label head, masked BCE; batch 64
  vits16   BenchmarkTrainStepViTS16's step: the same model at ViT-S/16
           size (224 px, patch 16, width 384, 12 blocks, 6 heads); batch 8

Each step is forward + backward + clip_grad_norm_(1.0) + AdamW (betas 0.9,
0.95, eps 1e-8, decay 0.05 on weight matrices only), float32, with
THREADS intra-op threads (default 2). Timing: WARMUP steps, then STEPS
steps; the median step time (and the mean CPU time of all threads per
step, cpu-ms/op, which includes OpenMP's spin-waiting) is reported as a Go benchmark line on stdout
(BenchmarkTorchTrainStep/<name>/batch<B>) for internal/cmd/benchreport.
Usage: train_step.py [tiny] [vits16]
"""
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(os.environ.get("THREADS", "2"))
STEPS = int(os.environ.get("STEPS", "10"))
WARMUP = int(os.environ.get("WARMUP", "2"))
LABELS = 14

CONFIGS = {
    "tiny": dict(image=64, patch=8, width=64, depth=2, heads=4, batch=64),
    "vits16": dict(image=224, patch=16, width=384, depth=12, heads=6, batch=8),
}


def sincos_2d(grid, width):
    """Fixed 2-D sin-cos position embeddings [grid*grid, width]."""
    q = width // 4
    omega = 1.0 / (10000 ** (torch.arange(q, dtype=torch.float32) / q))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32),
                            torch.arange(grid, dtype=torch.float32), indexing="ij")
    out = []
    for pos in (ys.flatten(), xs.flatten()):
        a = pos[:, None] * omega[None, :]
        out += [torch.sin(a), torch.cos(a)]
    return torch.cat(out, dim=1)


class Attention(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.h = heads
        self.q, self.k, self.v, self.o = (nn.Linear(w, w) for _ in range(4))

    def forward(self, x):
        b, n, w = x.shape
        dh = w // self.h
        q, k, v = (f(x).reshape(b, n, self.h, dh).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        return self.o((a @ v).transpose(1, 2).reshape(b, n, w))


class Block(nn.Module):
    def __init__(self, w, heads, mlp=4):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(w), nn.LayerNorm(w)
        self.attn = Attention(w, heads)
        self.mlp = nn.Sequential(nn.Linear(w, w * mlp), nn.GELU(approximate="tanh"), nn.Linear(w * mlp, w))

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        return x + self.mlp(self.n2(x))


class Classifier(nn.Module):
    def __init__(self, image, patch, width, depth, heads):
        super().__init__()
        self.patch, self.grid = patch, image // patch
        self.embed = nn.Linear(patch * patch, width)
        self.register_buffer("pos", sincos_2d(self.grid, width))
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head_norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, LABELS)

    def forward(self, img):  # img [B, S*S]
        b, g, p = img.shape[0], self.grid, self.patch
        x = img.reshape(b, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(b, g * g, p * p)
        x = self.embed(x) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.head_norm(self.norm(x).mean(dim=1)))


def step_time(name):
    c = CONFIGS[name]
    torch.manual_seed(1)
    model = Classifier(c["image"], c["patch"], c["width"], c["depth"], c["heads"])
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    rest = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    bs = c["batch"]
    img = torch.randn(bs, c["image"] ** 2)
    lab = torch.randint(0, 2, (bs, LABELS)).float()
    mask = torch.ones(bs, LABELS)

    def step():
        opt.zero_grad(set_to_none=True)
        z = model(img)
        loss = (F.binary_cross_entropy_with_logits(z, lab, reduction="none") * mask).sum() / mask.sum().clamp(min=1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(WARMUP):
        step()
    times = []
    c0 = time.process_time()
    for _ in range(STEPS):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    cpu_ms = (time.process_time() - c0) / STEPS * 1e3
    s = statistics.median(times)
    return f"BenchmarkTorchTrainStep/{name}/batch{bs}\t{STEPS}\t{int(s * 1e9)} ns/op\t{bs / s:.2f} img/s\t{cpu_ms:.1f} cpu-ms/op"


def main():
    torch.set_num_threads(THREADS)
    names = sys.argv[1:] or ["tiny"]
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, median of {STEPS} steps", file=sys.stderr)
    # A "pkg:" header like go test's: benchreport strips the -N GOMAXPROCS
    # suffix per block of lines it delimits, and these names have none.
    print("pkg: bench/torchref/train_step.py", flush=True)
    for n in names:
        if n not in CONFIGS:
            sys.exit(f"train_step.py: unknown config {n!r} (want {', '.join(CONFIGS)})")
        print(step_time(n), flush=True)


if __name__ == "__main__":
    main()
