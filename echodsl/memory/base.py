"""What crosses the memory boundary, and the pieces every memory family shares.

``MemoryInput`` is what the data layer hands over (the frames to remember), ``MemoryState``
what ``write_memory`` returns and the next write or forward consumes, ``MemoryTokens``
what a storage module gives its read-out inside one forward.

Exactness at step 0 is designed in, not approximated: every read path ends in a product
with a zero-initialised gate or projection, so an untrained memory adds exact zeros and
every profile's output equals the I2V model's bit for bit.

Letters: B batch, M memory frames, T stored slots, n tokens per frame, S memory tokens,
C latent channels, h/w latent grid, D model width, H heads, d head width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from echodsl.backbone.attention import Rotary, attend
from echodsl.backbone.camera import RayEmbedding


@dataclass
class MemoryInput:
    """Frames to remember, chronological; ``mask`` False marks padding or dropped frames."""

    latents: torch.Tensor  # (B, M, C, h, w)
    actions: torch.Tensor  # (B, M, 12), relative to the segment's frame 0
    mask: torch.Tensor  # (B, M) bool
    # The targets' own per-token camera conditioning evaluated at the memory frames' poses
    # (B, M, n, D), filled in by the model: a memory token and a target token that look the
    # same way then carry the same camera features, as context frames do in Context-as-Memory.
    camera: torch.Tensor | None = None


@dataclass
class MemoryState:
    """A profile's stored memory: family-specific tensors (tokens, summary, recurrent state).

    ``frames`` counts the frames written so far (state and summary writes are incremental).
    """

    kind: str  # the storage variant that wrote it: frames | summary | state | none
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    frames: int = 0

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def detach(self) -> "MemoryState":
        return MemoryState(self.kind, {k: v.detach() for k, v in self.tensors.items()}, self.frames)

    def to(self, *args: Any, **kwargs: Any) -> "MemoryState":
        return MemoryState(self.kind, {k: v.to(*args, **kwargs) for k, v in self.tensors.items()}, self.frames)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())


class MemoryTokens(NamedTuple):
    """Memory as tokens for one forward: what every read-out consumes."""

    tokens: torch.Tensor  # (B, S, D_mem)
    mask: torch.Tensor  # (B, S) bool, False = never attend
    slots: int  # whole frames of n tokens each (rotary positions), 0 for unpositioned tokens
    camera: torch.Tensor | None = None  # (B, S, D) camera conditioning of frame tokens, if stored


def safe_mask(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A key mask no row of which is all False (softmax would be NaN), and which rows are real.

    Returns (keep (B, S), valid (B,)); outputs of invalid rows must be zeroed by the caller.
    """
    valid = mask.any(dim=-1)  # (B,)
    return mask | ~valid[:, None], valid


def masked_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Attention to masked keys, exactly zero where a sample has no valid key. → (B, N, H*d)."""
    keep, valid = safe_mask(mask)
    out = attend(q, k, v, keep)  # (B, N, H*d)
    return torch.where(valid[:, None, None], out, torch.zeros_like(out))


def identity_rotary(tokens: int, head_dim: int, like: torch.Tensor) -> Rotary:
    """Rotary that rotates nothing, for memory tokens without a place in space-time."""
    cos = torch.ones(1, tokens, 1, head_dim, device=like.device, dtype=torch.float32)
    return cos, torch.zeros_like(cos)


class PoseEmbedding(nn.Module):
    """Frame-index and per-token camera-ray embedding of memory frames (the same ray
    features the targets' action conditioning uses), so memory relates to the targets."""

    def __init__(self, dim: int, max_frames: int, grid: tuple[int, int], fov_deg: float):
        super().__init__()
        self.pose = RayEmbedding(dim, grid, fov_deg)
        self.index = nn.Embedding(max(max_frames, 1), dim)
        nn.init.normal_(self.index.weight, std=0.02)

    def forward(self, actions: torch.Tensor, first_index: int = 0) -> torch.Tensor:
        """actions (B, M, 12) → (B, M, n, D), one embedding per token."""
        m = actions.shape[1]
        idx = torch.arange(first_index, first_index + m, device=actions.device).clamp(max=self.index.num_embeddings - 1)
        return self.pose(actions) + self.index(idx)[None, :, None, :]  # (B, M, n, D)

    def frame_tokens(self, backbone, memory: "MemoryInput", first_index: int = 0) -> torch.Tensor:
        """The memory frames as the backbone's patch tokens plus this embedding: (B, M, n, D).
        ``first_index`` is the history position of the first frame (incremental writes)."""
        b, m = memory.mask.shape
        tokens = backbone.patchify(memory.latents).view(b, m, -1, backbone.config.dim)  # (B, M, n, D)
        return tokens + self(memory.actions, first_index)  # (B, M, n, D)


class MemoryCrossAttention(nn.Module):
    """Target tokens attend to memory tokens; the output projection starts at zero."""

    def __init__(self, dim: int, memory_dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"model width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(memory_dim)
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(memory_dim, 2 * dim)
        self.to_out = nn.Linear(dim, dim)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(self, x: torch.Tensor, memory: MemoryTokens) -> torch.Tensor:
        """x (B, N, D) → (B, N, D)."""
        q = self.to_q(self.norm_q(x)).unflatten(2, (self.heads, -1))  # (B, N, H, d)
        k, v = self.to_kv(self.norm_kv(memory.tokens)).unflatten(2, (2 * self.heads, -1)).chunk(2, dim=2)  # (B, S, H, d)
        return self.to_out(masked_attend(q, k, v, memory.mask))  # (B, N, D)
