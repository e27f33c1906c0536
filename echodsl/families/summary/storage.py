"""The ``summary`` storage module (the study's spatial family): a time-pooled summary of the
history, pooled to a small token grid.

``SummaryStorage`` patch-embeds the history frames (plus pose embedding), pools them over
time (running mean or max, so a later write only consumes the new frames) and, at read
time, pools the (hp, wp) token map to the profile's grid (e.g. 8×8 = 64 tokens) and adds a
learned grid-position embedding. Read-outs (``echodsl.memory.readouts``): ``joint`` (no
rotary), ``cross_attention``, ``text_concat`` or ``none``.

Letters: B batch, M history frames, n = hp*wp tokens per frame, G = gh*gw summary tokens,
D model width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from echodsl.backbone.wan import WanBackbone
from echodsl.memory.base import MemoryInput, MemoryState, MemoryTokens, PoseEmbedding


@dataclass(frozen=True)
class SummaryStorageConfig:
    dim: int  # model width D
    token_grid: tuple[int, int]  # (hp, wp) patches per frame
    grid: tuple[int, int]  # (gh, gw) summary tokens
    pool: str  # "mean" | "max"
    history_frames: int
    fov_deg: float = 90.0


class SummaryStorage(nn.Module):
    kind = "summary"

    def __init__(self, config: SummaryStorageConfig):
        super().__init__()
        self.config = config
        self.pose = PoseEmbedding(config.dim, config.history_frames, config.token_grid, config.fov_deg)
        self.position = nn.Parameter(torch.zeros(config.grid[0] * config.grid[1], config.dim))
        nn.init.normal_(self.position, std=0.02)

    def init_weights(self) -> None:
        """Nothing to zero: the summary reaches the targets only through a zero-gated read-out."""

    def write(self, backbone: WanBackbone, memory: MemoryInput, state: MemoryState | None = None) -> MemoryState:
        m = memory.mask.shape[1]
        first = 0 if state is None else state.frames
        tokens = self.pose.frame_tokens(backbone, memory, first)  # (B, M, n, D)
        keep = memory.mask[:, :, None, None]  # (B, M, 1, 1)
        count = memory.mask.sum(dim=1).to(tokens.dtype)  # (B,)
        if self.config.pool == "mean":
            acc = torch.where(keep, tokens, torch.zeros_like(tokens)).sum(dim=1)  # (B, n, D)
            if state is not None:
                acc, count = acc + state["acc"], count + state["count"]
        else:
            acc = torch.where(keep, tokens, torch.full_like(tokens, float("-inf"))).amax(dim=1)  # (B, n, D)
            if state is not None:
                acc, count = torch.maximum(acc, state["acc"]), count + state["count"]
        return MemoryState(self.kind, {"acc": acc, "count": count}, frames=first + m)

    def read(self, state: MemoryState) -> MemoryTokens:
        acc, count = state["acc"], state["count"]
        hp, wp = self.config.token_grid
        has = (count > 0)[:, None, None]  # (B, 1, 1)
        value = acc / count.clamp(min=1)[:, None, None] if self.config.pool == "mean" else acc
        value = torch.where(has, value, torch.zeros_like(value))  # (B, n, D)
        b, n, d = value.shape
        value = value.transpose(1, 2).reshape(b, d, hp, wp)  # (B, D, hp, wp)
        pool = F.adaptive_avg_pool2d if self.config.pool == "mean" else F.adaptive_max_pool2d
        grid = pool(value, self.config.grid).flatten(2).transpose(1, 2)  # (B, G, D)
        tokens = grid + self.position[None]  # (B, G, D)
        return MemoryTokens(tokens, (count > 0)[:, None].expand(b, tokens.shape[1]), slots=0)
