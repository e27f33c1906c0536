"""Spatial memory: a time-pooled summary of the history, pooled to a small token grid.

``SummaryStore`` patch-embeds the history frames (plus pose embedding), pools them over
time (running mean or max, so a later write only consumes the new frames) and, at read
time, pools the (hp, wp) token map to the profile's grid (e.g. 8×8 = 64 tokens) and adds a
learned grid-position embedding. Read-outs: ``joint`` (context.JointReadout, no rotary),
``cross_attention`` (readout.CrossAttentionReadout), ``text_concat`` (below) or ``none``.

``TextConcatReadout`` appends the summary to the text tokens each block cross-attends to:
the targets' text cross-attention also attends, with the same projections and through a
zero-initialised gate, to the summary tokens (a separate softmax, so a zero gate is exact).

Letters: B batch, M history frames, n = hp*wp tokens per frame, G = gh*gw summary tokens,
D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from echodsl.backbone.attention import attend, output, project_kv, project_q
from echodsl.backbone.wan import WanBackbone
from echodsl.memory.base import MemoryInput, MemoryState, MemoryTokens, PoseEmbedding, masked_attend
from echodsl.memory.readout import Readout


@dataclass(frozen=True)
class SummaryConfig:
    dim: int  # model width D
    token_grid: tuple[int, int]  # (hp, wp) patches per frame
    grid: tuple[int, int]  # (gh, gw) summary tokens
    pool: str  # "mean" | "max"
    history_frames: int
    fov_deg: float = 90.0


class SummaryStore(nn.Module):
    family = "spatial"

    def __init__(self, config: SummaryConfig):
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
        return MemoryState(self.family, {"acc": acc, "count": count}, frames=first + m)

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


@dataclass(frozen=True)
class TextConcatConfig:
    dim: int  # model width D
    layers: int


class TextConcatReadout(Readout):
    def __init__(self, config: TextConcatConfig):
        super().__init__()
        self.config = config
        self.to_text = nn.Linear(config.dim, config.dim)  # summary into the projected-text space
        self.gate = nn.Parameter(torch.zeros(config.layers, config.dim))

    def init_weights(self) -> None:
        nn.init.zeros_(self.gate)

    def prepare(self, backbone, memory: MemoryTokens, frames: int):
        return memory._replace(tokens=self.to_text(memory.tokens))  # (B, G, D)

    def block(self, backbone, index, target, context, carry):
        cross = partial(_text_and_summary, gate=self.gate[index], memory=carry, backend=backbone.backend)
        (x,) = backbone.run_block(index, [target._replace(cross=cross)], context)
        return x, carry


def _text_and_summary(attn, h, context, *, gate, memory, backend):
    q = project_q(attn, h, None)  # (B, N, H, d)
    k, v = project_kv(attn, context, None)  # (B, L, H, d)
    ks, vs = project_kv(attn, memory.tokens, None)  # (B, G, H, d)
    o = attend(q, k, v, backend=backend) + gate * masked_attend(q, ks, vs, memory.mask)  # (B, N, D)
    return output(attn, o)
