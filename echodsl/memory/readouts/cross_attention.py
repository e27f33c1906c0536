"""The ``cross_attention`` read-out: targets cross-attend to the memory after the text
cross-attention of attached blocks, with one layer per block or one shared layer.

Letters: B batch, N target tokens, S memory tokens, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from torch import nn

from echodsl.backbone.attention import cross_attention
from echodsl.memory.base import MemoryCrossAttention
from echodsl.memory.readouts.base import Readout


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
