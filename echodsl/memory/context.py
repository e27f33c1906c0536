"""Context memory: K retrieved frames' latent tokens, read jointly in self-attention.

``FrameStore`` turns the memory frames into tokens with the backbone's own patch
embedding plus a frame-index and relative-pose embedding, optionally compressed.
``JointReadout`` carries these tokens as a second stream through every block (clean,
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

Letters: B batch, M memory frames, T stored slots, n tokens per frame, S = T*n, N target
tokens, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from echodsl.backbone.attention import attend, output, project_kv, project_q
from echodsl.backbone.wan import Stream, WanBackbone
from echodsl.memory.base import MemoryInput, MemoryState, MemoryTokens, PoseEmbedding, identity_rotary, masked_attend
from echodsl.memory.compression import Compression, MixtureOfContexts
from echodsl.memory.readout import Readout


@dataclass(frozen=True)
class FrameStoreConfig:
    dim: int  # model width D
    memory_frames: int  # M = k - 1
    tokens_per_frame: int
    grid: tuple[int, int] = (8, 8)  # (hp, wp) patches per frame
    fov_deg: float = 90.0


class FrameStore(nn.Module):
    """Stores the memory frames as patch tokens (+ frame-index and pose embedding)."""

    family = "context"
    takes_camera = True  # its frame tokens take the targets' camera conditioning (MemoryInput.camera)

    def __init__(self, config: FrameStoreConfig, compression: Compression | None = None,
                 mixture: MixtureOfContexts | None = None):
        super().__init__()
        self.config = config
        self.pose = PoseEmbedding(config.dim, config.memory_frames, config.grid, config.fov_deg)
        self.compression = compression
        self.mixture = mixture  # re-weights frames at read time by their similarity to the targets

    def init_weights(self) -> None:
        if self.compression is not None:
            self.compression.init_weights()

    def write(self, backbone: WanBackbone, memory: MemoryInput, state: MemoryState | None = None) -> MemoryState:
        """Each write replaces the memory: the retriever picks the K frames anew every chunk."""
        m = memory.mask.shape[1]
        tokens = self.pose.frame_tokens(backbone, memory)  # (B, M, n, D)
        mask = memory.mask
        tensors = {}
        if memory.camera is not None:
            tensors["camera"] = _pool_like(memory.camera, mask, self.compression)  # (B, T, n, D)
        if self.compression is not None:
            tokens, mask = self.compression(tokens, mask)  # (B, T, n, D), (B, T)
        return MemoryState(self.family, {"tokens": tokens, "mask": mask, **tensors}, frames=m)

    def read(self, state: MemoryState, query: torch.Tensor | None = None) -> MemoryTokens:
        """The stored tokens; ``query`` (B, D), the targets' mean token, feeds a mixture of contexts."""
        tokens, mask = state["tokens"], state["mask"]
        if self.mixture is not None and query is not None:
            tokens, mask = self.mixture(tokens, mask, query)  # (B, T, n, D), (B, T)
        b, t, n, d = tokens.shape
        camera = state.tensors.get("camera")
        return MemoryTokens(
            tokens.reshape(b, t * n, d),  # (B, S, D)
            mask[:, :, None].expand(b, t, n).reshape(b, t * n),  # (B, S)
            slots=t,
            camera=None if camera is None else camera.reshape(b, t * n, d),  # (B, S, D)
        )


def _pool_like(camera: torch.Tensor, mask: torch.Tensor, compression: Compression | None) -> torch.Tensor:
    """Camera conditioning (B, M, n, D) of the stored slots: a pooled slot gets the mean over
    the valid frames of its group (what learned pooling starts as)."""
    ratio = compression.pool.ratio if compression is not None and compression.pool is not None else 1
    if ratio == 1:
        return camera
    b, m, n, d = camera.shape
    t = -(-m // ratio)
    pad = t * ratio - m
    w = torch.nn.functional.pad(mask, (0, pad)).view(b, t, ratio, 1, 1).to(camera.dtype)  # (B, T, r, 1, 1)
    groups = torch.nn.functional.pad(camera, (0, 0, 0, 0, 0, pad)).view(b, t, ratio, n, d)  # (B, T, r, n, D)
    return (groups * w).sum(2) / w.sum(2).clamp(min=1)  # (B, T, n, D)


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
