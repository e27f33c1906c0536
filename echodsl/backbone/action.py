"""Action conditioning: 12-d relative camera motion, injected at one site per block.

An action is the pose of a frame relative to the segment's first frame, translation (3)
then rotation (9, row-major). Each token gets its own embedding: the action rotates the
token's fixed pixel ray (``camera.py``), so tokens that look the same way across frames
look alike to attention. The MLP's last layer starts at zero, so an untrained
conditioner adds exact zeros and the model starts as the unconditioned DiT.

Letters: B batch, F frames, n tokens per frame, D model width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from echodsl.backbone.camera import RayEmbedding

ACTION_DIM = 12
INJECT_SITES = ("pre_norm", "post_attn")


@dataclass(frozen=True)
class ActionConfig:
    dim: int  # model width D
    inject: str = "pre_norm"  # where the embedding is added in every block (INJECT_SITES)
    grid: tuple[int, int] = (8, 8)  # latent patches per frame (h, w)
    fov_deg: float = 90.0


class ActionConditioner(nn.Module):
    """Relative-RT → per-token additive conditioning, shared by all blocks."""

    def __init__(self, config: ActionConfig):
        super().__init__()
        if config.inject not in INJECT_SITES:
            raise ValueError(f"unknown action injection site {config.inject!r}")
        self.config = config
        self.embed = RayEmbedding(config.dim, config.grid, config.fov_deg)
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.embed.mlp[2].weight)
        nn.init.zeros_(self.embed.mlp[2].bias)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        """actions (B, F, 12) → (B, F*n, D), one embedding per token, frame-major."""
        b, f, _ = actions.shape
        return self.embed(actions).reshape(b, f * self.embed.rays.shape[0], -1)  # (B, N, D)
