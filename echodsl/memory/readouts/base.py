"""The read-out base class: how stored memory reaches the target tokens, block by block.

A read-out turns a ``MemoryTokens`` into changes of the target stream: ``prepare`` once per
forward, then ``block`` for every DiT block, threading a carry (the joint read-out carries
the memory token stream through the blocks).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from echodsl.backbone.wan import Stream, WanBackbone
from echodsl.memory.base import MemoryTokens


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
