"""Action conditioning: 12-d relative camera motion, injected at one site per block.

An action is the pose of a frame relative to the segment's first frame, translation (3)
then rotation (9, row-major). A small MLP embeds it; its last layer starts at zero, so an
untrained conditioner adds exact zeros and the model starts as the unconditioned DiT.

Letters: B batch, F frames, n tokens per frame, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

ACTION_DIM = 12
INJECT_SITES = ("pre_norm", "post_attn")


@dataclass(frozen=True)
class ActionConfig:
    dim: int  # model width D
    inject: str = "pre_norm"  # where the embedding is added in every block (INJECT_SITES)


class ActionConditioner(nn.Module):
    """Relative-RT → per-token additive conditioning, shared by all blocks."""

    def __init__(self, config: ActionConfig):
        super().__init__()
        if config.inject not in INJECT_SITES:
            raise ValueError(f"unknown action injection site {config.inject!r}")
        self.config = config
        self.embed = nn.Sequential(nn.Linear(ACTION_DIM, config.dim), nn.SiLU(), nn.Linear(config.dim, config.dim))
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.embed[2].weight)
        nn.init.zeros_(self.embed[2].bias)

    def forward(self, actions: torch.Tensor, tokens_per_frame: int) -> torch.Tensor:
        """actions (B, F, 12) → (B, F*n, D), each frame's embedding on all its tokens."""
        b, f, _ = actions.shape
        a = self.embed(actions)  # (B, F, D)
        return a[:, :, None, :].expand(b, f, tokens_per_frame, a.shape[-1]).reshape(b, f * tokens_per_frame, -1)  # (B, N, D)
