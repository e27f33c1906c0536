"""The ``joint`` read-out: memory tokens join the self-attention of every block.

``JointReadout`` carries the memory tokens as a second stream through every block (clean,
timestep 0, rotary positions after the segment for ``suffix`` or before it for
``prefix``); the memory stream attends to itself. How the targets read it is the
read-out's ``gate``:

* ``none`` (default): the memory's keys and values, made with the block's own
  projections, join the targets' keys in ONE softmax — Context-as-Memory's plain
  concatenation. Memory competes with the frame's own tokens from the first step.
* ``zero``: a second softmax over the memory keys, added through a zero-initialised
  per-channel gate, so step 0 equals I2V exactly (one shared softmax would renormalise
  the targets' own attention). Right for fine-tuning a pretrained backbone; from scratch
  the gate stays near zero and the memory path starves.

Letters: B batch, S memory tokens, N target tokens, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from echodsl.backbone.attention import attend, output, project_kv, project_q
from echodsl.backbone.wan import Stream, WanBackbone
from echodsl.memory.base import MemoryTokens, identity_rotary, masked_attend
from echodsl.memory.readouts.base import Readout


@dataclass(frozen=True)
class JointConfig:
    dim: int  # model width D
    layers: int  # gates, one per block
    placement: str  # "suffix" | "prefix": memory frames' temporal rotary positions
    head_dim: int
    gate: str = "none"  # "none": one shared softmax | "zero": gated separate softmax
    inject: str = "pre_norm"  # where the memory stream takes its camera conditioning, as the targets


class JointReadout(Readout):
    """Memory tokens join the self-attention of every block as a second, clean stream."""

    def __init__(self, config: JointConfig):
        super().__init__()
        self.config = config
        self.gate = nn.Parameter(torch.zeros(config.layers, config.dim)) if config.gate == "zero" else None
        # Diagnostics only (eager, no grad): when a list, every block appends the targets'
        # attention on each memory token, (B, S), averaged over heads and target tokens.
        self.record: list[torch.Tensor] | None = None

    def init_weights(self) -> None:
        if self.gate is not None:
            nn.init.zeros_(self.gate)

    def prepare(self, backbone: WanBackbone, memory: MemoryTokens, frames: int):
        m = memory.tokens  # (B, S, D)
        _, mod = backbone.modulation(torch.zeros(m.shape[0], 1, device=m.device), m)  # (B, 1, 6, D): clean
        if memory.slots:
            t = memory.slots
            positions = [frames + j for j in range(t)] if self.config.placement == "suffix" else [j - t for j in range(t)]
            rotary = backbone.rotary_at(positions)  # (1, S, 1, d) each
        else:
            rotary = identity_rotary(m.shape[1], self.config.head_dim, m)
        camera = memory.camera  # (B, S, D) or None
        pre, post = (camera, None) if self.config.inject == "pre_norm" else (None, camera)
        return m, mod, rotary, memory.mask, pre, post

    def block(self, backbone, index, target, context, carry):
        m, mod, rotary, mask, pre, post = carry
        if self.gate is None:
            attention = partial(_shared_softmax_attention, mask=mask, backend=backbone.backend, record=self.record)
        else:
            attention = partial(_joint_attention, gate=self.gate[index], mask=mask, backend=backbone.backend,
                                record=self.record)
        x, m = backbone.run_block(index, [target, Stream(m, mod, rotary, pre, post)], context, attention=attention)
        return x, (m, mod, rotary, mask, pre, post)


def _shared_softmax_attention(attn, hs, rotaries, *, mask, backend, record=None):
    (hx, hm), (rx, rm) = hs, rotaries
    qx = project_q(attn, hx, rx)  # (B, N, H, d)
    kx, vx = project_kv(attn, hx, rx)
    qm = project_q(attn, hm, rm)  # (B, S, H, d)
    km, vm = project_kv(attn, hm, rm)
    own = torch.ones(mask.shape[0], kx.shape[1], dtype=torch.bool, device=mask.device)  # (B, N)
    keep = torch.cat([own, mask], dim=1)  # (B, N+S): padded or dropped memory is never attended
    if record is not None:
        record.append(_attention_on(qx, torch.cat([kx, km], 1), keep)[:, kx.shape[1]:])  # (B, S)
    ox = attend(qx, torch.cat([kx, km], 1), torch.cat([vx, vm], 1), keep, backend=backend)  # (B, N, D)
    om = masked_attend(qm, km, vm, mask)  # (B, S, D)
    return [output(attn, ox), output(attn, om)]


def _attention_on(q: torch.Tensor, k: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Softmax weight of every key (B, S), averaged over heads and queries (diagnostics)."""
    scores = torch.einsum("bnhd,bshd->bhns", q.float(), k.float()) * q.shape[-1] ** -0.5
    scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
    return scores.softmax(-1).nan_to_num(0.0).mean(dim=(1, 2))  # (B, S)


def _joint_attention(attn, hs, rotaries, *, gate, mask, backend, record=None):
    (hx, hm), (rx, rm) = hs, rotaries
    qx = project_q(attn, hx, rx)  # (B, N, H, d)
    kx, vx = project_kv(attn, hx, rx)
    qm = project_q(attn, hm, rm)  # (B, S, H, d)
    km, vm = project_kv(attn, hm, rm)
    ox = attend(qx, kx, vx, backend=backend) + gate * masked_attend(qx, km, vm, mask)  # (B, N, D)
    if record is not None:  # the memory softmax alone: its weights sum to 1 over memory
        record.append(_attention_on(qx, km, mask))  # (B, S)
    om = masked_attend(qm, km, vm, mask)  # (B, S, D)
    return [output(attn, ox), output(attn, om)]
