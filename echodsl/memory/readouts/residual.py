"""The ``residual`` read-out: the state, projected per attached block, added to every frame.

Letters: B batch, F frames, n tokens per frame, N = F*n, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from echodsl.memory.base import MemoryTokens
from echodsl.memory.readouts.base import Readout


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
