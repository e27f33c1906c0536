"""The ``frames`` storage module: K retrieved frames' latent tokens (the study's context and
compression families).

``FramesStorage`` turns the memory frames into tokens with the backbone's own patch
embedding plus a frame-index and relative-pose embedding, optionally compressed
(``compression``). Its usual read-out is ``joint`` (``echodsl.memory.readouts.joint``).

Letters: B batch, M memory frames, T stored slots, n tokens per frame, S = T*n, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from echodsl.backbone.wan import WanBackbone
from echodsl.families.frames.compression import Compression, MixtureOfContexts
from echodsl.memory.base import MemoryInput, MemoryState, MemoryTokens, PoseEmbedding


@dataclass(frozen=True)
class FramesStorageConfig:
    dim: int  # model width D
    memory_frames: int  # M = k - 1
    tokens_per_frame: int
    grid: tuple[int, int] = (8, 8)  # (hp, wp) patches per frame
    fov_deg: float = 90.0


class FramesStorage(nn.Module):
    """Stores the memory frames as patch tokens (+ frame-index and pose embedding)."""

    kind = "frames"
    takes_camera = True  # its frame tokens take the targets' camera conditioning (MemoryInput.camera)

    def __init__(self, config: FramesStorageConfig, compression: Compression | None = None,
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
        return MemoryState(self.kind, {"tokens": tokens, "mask": mask, **tensors}, frames=m)

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
