"""Read-outs shared across families: dedicated/shared cross-attention and zero-gated residual.

A read-out turns a ``MemoryTokens`` into changes of the target stream, block by block:
``prepare`` once per forward, then ``block`` for every DiT block, threading a carry (the
joint read-out carries the memory token stream through the blocks).

Letters: B batch, F frames, n tokens per frame, N = F*n, S memory tokens, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from echodsl.backbone.attention import cross_attention
from echodsl.backbone.wan import Stream, WanBackbone
from echodsl.memory.base import MemoryCrossAttention, MemoryTokens


class Readout(nn.Module):
    """Base class: how stored memory reaches the target tokens."""

    def prepare(self, backbone: WanBackbone, memory: MemoryTokens, frames: int) -> Any:
        return memory

    def block(self, backbone: WanBackbone, index: int, target: Stream, context: torch.Tensor,
              carry: Any) -> tuple[torch.Tensor, Any]:
        """Run block ``index`` with the memory touching ``target``; every read-out defines this."""
        raise NotImplementedError

    def init_weights(self) -> None:
        """Zero every gate and output projection: the read-out starts as an exact no-op."""
        for m in self.modules():
            if m is not self and hasattr(m, "init_weights"):
                m.init_weights()


@dataclass(frozen=True)
class CrossAttentionConfig:
    dim: int  # model width D
    memory_dim: int  # width of the memory tokens
    heads: int
    dedicated: bool  # one layer per attached block, or one layer shared by all
    attach: tuple[int, ...]  # block indices


class CrossAttentionReadout(Readout):
    """Targets cross-attend to the memory after the text cross-attention of attached blocks."""

    def __init__(self, config: CrossAttentionConfig):
        super().__init__()
        self.config = config
        count = len(config.attach) if config.dedicated else 1
        self.layers = nn.ModuleList(
            MemoryCrossAttention(config.dim, config.memory_dim, config.heads) for _ in range(count)
        )
        self.init_weights()

    def block(self, backbone, index, target, context, carry):
        if index in self.config.attach:
            layer = self.layers[self.config.attach.index(index) if self.config.dedicated else 0]
            target = target._replace(cross=partial(_cross_plus_memory, layer=layer, memory=carry, backend=backbone.backend))
        (x,) = backbone.run_block(index, [target], context)
        return x, carry


def _cross_plus_memory(attn, h, context, *, layer, memory, backend):
    # text cross-attention + zero-initialised memory cross-attention: exact at step 0
    return cross_attention(attn, h, context, backend) + layer(h, memory)  # (B, N, D)


@dataclass(frozen=True)
class ResidualConfig:
    dim: int  # model width D
    memory_dim: int  # state width
    attach: tuple[int, ...]  # block indices


class ResidualReadout(Readout):
    """The state, one vector per token position, added to every frame before attached blocks."""

    def __init__(self, config: ResidualConfig):
        super().__init__()
        self.config = config
        self.proj = nn.ModuleList(nn.Linear(config.memory_dim, config.dim) for _ in config.attach)
        self.init_weights()

    def init_weights(self) -> None:
        for p in self.proj:
            nn.init.zeros_(p.weight)
            nn.init.zeros_(p.bias)

    def block(self, backbone, index, target, context, carry: MemoryTokens):
        if index in self.config.attach:
            r = self.proj[self.config.attach.index(index)](carry.tokens)  # (B, n, D)
            r = r * carry.mask[:, :, None].to(r.dtype)  # (B, n, D)
            b, n, d = r.shape
            frames = target.x.shape[1] // n
            r = r[:, None].expand(b, frames, n, d).reshape(b, frames * n, d)  # (B, N, D)
            target = target._replace(pre=r if target.pre is None else target.pre + r)
        (x,) = backbone.run_block(index, [target], context)
        return x, carry
