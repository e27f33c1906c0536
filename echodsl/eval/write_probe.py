"""Write capacity: how much of the anchor object's identity the memory *stored*, measured
by a small probe trained to decode it from the memory, separately from whether the model
*reads it out* on return (the return score).

The probe sees plain features, so it does not depend on any model: the branch runner
takes the ``MemoryState`` that ``model.write_memory`` returns after the leave phase,
turns its tensors into one vector per case with :func:`pool_features` (mean over every
axis but batch and width), and labels each case with the anchor's identity class (e.g.
its shape + pattern + colour name). :func:`write_capacity` then splits the cases into
train and test sets (seeded, stratified by class), standardises features with the
training statistics, trains a linear (or one-hidden-layer MLP) softmax classifier with
full-batch AdamW, and reports held-out accuracy next to chance (the majority class of
the test set). Everything is seeded: the same inputs give the same report.

Letters: N cases, T memory tokens (or grid cells), D feature width, K classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn


@dataclass(frozen=True)
class WriteProbeConfig:
    kind: Literal["linear", "mlp"] = "linear"
    hidden: int = 64  # MLP width
    test_fraction: float = 0.3  # of each class, at least one case held out per class with >= 2
    steps: int = 300
    lr: float = 1e-2
    weight_decay: float = 1e-2
    seed: int = 0


@dataclass(frozen=True)
class WriteProbeReport:
    accuracy: float  # held-out accuracy
    chance: float  # accuracy of always guessing the test set's most common class
    train_accuracy: float
    n_train: int
    n_test: int
    classes: int
    kind: str

    def to_dict(self) -> dict:
        return asdict(self)


def pool_features(x: torch.Tensor) -> torch.Tensor:
    """(N, ..., D) memory tensor -> (N, D): mean over all token/grid axes. (N, D) passes."""
    assert x.dim() >= 2, f"expected (N, ..., D), got {tuple(x.shape)}"
    return x.float().reshape(x.shape[0], -1, x.shape[-1]).mean(1)  # (N, D)


def split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified, seeded train/test indices: per class, round(fraction × count) cases
    (at least one when the class has two or more) go to the test set."""
    gen = torch.Generator().manual_seed(seed)
    train, test = [], []
    for cls in torch.unique(labels):
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = max(1, round(test_fraction * len(idx))) if len(idx) >= 2 else 0
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def write_capacity(features: torch.Tensor, labels: torch.Tensor,
                   config: WriteProbeConfig | None = None) -> WriteProbeReport:
    """Held-out accuracy of decoding ``labels`` (N,) int from ``features`` (N, D)."""
    c = config or WriteProbeConfig()
    assert features.dim() == 2 and labels.shape == features.shape[:1], (tuple(features.shape), tuple(labels.shape))
    classes, y = torch.unique(labels, return_inverse=True)  # y: (N,) in 0..K-1
    k = len(classes)
    train, test = split(y, c.test_fraction, c.seed)
    assert len(train) and len(test), f"need at least two cases of some class (N={len(y)}, K={k})"
    x = features.float()
    mean, std = x[train].mean(0), x[train].std(0, unbiased=False).clamp(min=1e-6)
    x = (x - mean) / std  # (N, D)

    gen = torch.Generator().manual_seed(c.seed)
    model = _probe(x.shape[1], k, c, gen)
    with _one_thread():
        _fit(model, x[train], y[train], c)
    with torch.no_grad():
        pred = model(x).argmax(1)  # (N,)
    hit = (pred == y).float()
    chance = torch.bincount(y[test], minlength=k).max().item() / len(test)
    return WriteProbeReport(float(hit[test].mean()), chance, float(hit[train].mean()),
                            len(train), len(test), k, c.kind)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run on one intra-op thread, then restore: on a busy few-core machine the probe's
    tiny matmuls took ~50x longer with 2 threads than with 1 (measured: 7 s vs 0.15 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, c: WriteProbeConfig) -> None:
    """Full-batch AdamW on cross-entropy, written out: torch.optim's first step imports
    torch._dynamo (seconds on a shared CPU), which is all this tiny probe would pay for."""
    params = list(model.parameters())
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, c.steps + 1):
        loss = nn.functional.cross_entropy(model(x), y)  # logits (N_train, K)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g, m_, v_ in zip(params, grads, m, v):
                p.mul_(1 - c.lr * c.weight_decay)
                m_.mul_(b1).add_(g, alpha=1 - b1)
                v_.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.addcdiv_(m_ / (1 - b1**t), (v_ / (1 - b2**t)).sqrt_().add_(eps), value=-c.lr)


def _probe(d: int, k: int, c: WriteProbeConfig, gen: torch.Generator) -> nn.Module:
    """Linear or MLP classifier initialised from ``gen`` (not the global RNG)."""
    layers = [nn.Linear(d, k)] if c.kind == "linear" else [nn.Linear(d, c.hidden), nn.GELU(), nn.Linear(c.hidden, k)]
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.zero_()
    return model
