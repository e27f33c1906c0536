"""The ``text_concat`` read-out: the summary joins the text tokens each block cross-attends to.

The targets' text cross-attention also attends, with the same projections and through a
zero-initialised gate, to the summary tokens (a separate softmax, so a zero gate is exact).

Letters: B batch, N target tokens, L text tokens, G summary tokens, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from echodsl.backbone.attention import attend, output, project_kv, project_q
from echodsl.memory.base import MemoryTokens, masked_attend
from echodsl.memory.readouts.base import Readout


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
