"""Compression of stored frames' tokens: learned re-weighting, learned r:1 pooling, or both.

* ``weights``: same length; each token is scaled by T_valid · softmax over time of a learned
  score, so frames are re-weighted against each other (uniform, i.e. 1, at init).
* ``length``: frames (and so their pose embeddings) pooled r:1 in time by a learned softmax
  over each group of r frames (mean pooling at init); T = ceil(M / r) slots.
* ``hybrid``: pool, then re-weight.
* ``moc`` (mixture of contexts, the released Echo-Memory code's default): no parameters;
  at read time each stored frame is scaled by T_valid · softmax over frames of the cosine
  similarity between its mean token and the targets' mean token, divided by a
  temperature; with ``top`` > 0 only the ``top`` most similar frames stay (the rest are
  masked), as a router would.

Padding and dropped frames (mask False) take no weight; a slot with no valid frame is
masked.

Letters: B batch, M stored frames, T slots, r ratio, n tokens per frame, D model width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ("weights", "length", "hybrid")


@dataclass(frozen=True)
class CompressionConfig:
    variant: str  # one of VARIANTS
    dim: int  # model width D
    ratio: int = 1  # r for length/hybrid


def _masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    logits = logits.masked_fill(~mask, float("-inf"))
    w = torch.softmax(logits, dim=dim)
    return torch.nan_to_num(w, nan=0.0)  # a group with no valid frame: all-zero weights


class TokenWeighting(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """tokens (B, T, n, D), mask (B, T) → (B, T, n, D)."""
        keep = mask[:, :, None, None]  # (B, T, 1, 1)
        w = _masked_softmax(self.score(tokens), keep, dim=1)  # (B, T, n, 1)
        valid = mask.sum(dim=1).clamp(min=1).to(tokens.dtype)[:, None, None, None]  # (B, 1, 1, 1)
        return tokens * (w * valid)  # (B, T, n, D)


class LengthPooling(nn.Module):
    def __init__(self, dim: int, ratio: int):
        super().__init__()
        self.ratio = ratio
        self.position = nn.Parameter(torch.zeros(ratio))  # prior over a frame's place in its group
        self.score = nn.Linear(dim, 1)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.position)
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, M, n, D), mask (B, M) → (B, T, n, D), (B, T) with T = ceil(M / r)."""
        b, m, n, d = tokens.shape
        r = self.ratio
        t = math.ceil(m / r)
        pad = t * r - m
        if pad:
            tokens = F.pad(tokens, (0, 0, 0, 0, 0, pad))  # (B, T*r, n, D)
            mask = F.pad(mask, (0, pad), value=False)  # (B, T*r)
        groups = tokens.view(b, t, r, n, d)  # (B, T, r, n, D)
        gmask = mask.view(b, t, r)  # (B, T, r)
        logits = self.score(groups) + self.position[None, None, :, None, None]  # (B, T, r, n, 1)
        w = _masked_softmax(logits, gmask[:, :, :, None, None], dim=2)  # (B, T, r, n, 1)
        return (groups * w).sum(dim=2), gmask.any(dim=2)  # (B, T, n, D), (B, T)


class Compression(nn.Module):
    """One of ``VARIANTS`` applied to stored frame tokens."""

    def __init__(self, config: CompressionConfig):
        super().__init__()
        if config.variant not in VARIANTS:
            raise ValueError(f"unknown compression {config.variant!r}")
        self.config = config
        self.pool = LengthPooling(config.dim, config.ratio) if config.variant in ("length", "hybrid") else None
        self.weight = TokenWeighting(config.dim) if config.variant in ("weights", "hybrid") else None

    def init_weights(self) -> None:
        for m in (self.pool, self.weight):
            if m is not None:
                m.init_weights()

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pool is not None:
            tokens, mask = self.pool(tokens, mask)  # (B, T, n, D), (B, T)
        if self.weight is not None:
            tokens = self.weight(tokens, mask)  # (B, T, n, D)
        return tokens, mask


class MixtureOfContexts(nn.Module):
    """Parameter-free re-weighting of stored frames by their similarity to the targets."""

    def __init__(self, temperature: float, top: int = 0):
        super().__init__()
        assert temperature > 0, f"temperature={temperature}"
        self.temperature, self.top = float(temperature), int(top)

    def init_weights(self) -> None:
        """Nothing to initialise: the re-weighting has no parameters."""

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, T, n, D), mask (B, T), query (B, D) the targets' mean token → (B, T, n, D), (B, T)."""
        frame = tokens.mean(dim=2)  # (B, T, D)
        sim = F.cosine_similarity(frame.float(), query.float()[:, None, :], dim=-1)  # (B, T)
        keep = mask
        if 0 < self.top < mask.shape[1]:
            best = sim.masked_fill(~mask, float("-inf")).topk(self.top, dim=1).indices  # (B, top)
            keep = mask & torch.zeros_like(mask).scatter(1, best, True)  # (B, T)
        w = _masked_softmax(sim / self.temperature, keep, dim=1)  # (B, T)
        valid = keep.sum(dim=1, keepdim=True).clamp(min=1).to(w.dtype)  # (B, 1)
        return tokens * (w * valid).to(tokens.dtype)[:, :, None, None], keep  # (B, T, n, D), (B, T)
