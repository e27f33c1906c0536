"""Shared fixtures: the tiny backbone, random inputs at its shape, the paper's profiles."""

from __future__ import annotations

import pytest
import torch

from echodsl.backbone import make_backbone
from echodsl.memory.base import MemoryInput

@pytest.fixture(scope="session")
def tiny_backbone():
    torch.manual_seed(0)
    return make_backbone("tiny")


def _inputs(batch: int = 2, frames: int = 5, memory: int = 4, seed: int = 1, drop: bool = False):
    """(latents, timesteps, actions, text), MemoryInput at the tiny preset's shape."""
    g = torch.Generator().manual_seed(seed)
    latents = torch.randn(batch, frames, 3, 32, 32, generator=g)
    timesteps = torch.rand(batch, frames, generator=g) * 1000
    timesteps[:, 0] = 0
    actions = torch.randn(batch, frames, 12, generator=g)
    text = torch.randn(batch, 8, 32, generator=g)
    mask = torch.ones(batch, memory, dtype=torch.bool)
    if drop and memory:
        if memory > 1:  # one memory frame must stay somewhere, or nothing could be read
            mask[0, 0] = False
        mask[-1] = False  # a sample whose memory was dropped entirely (overlap drop)
    mem = MemoryInput(torch.randn(batch, memory, 3, 32, 32, generator=g), torch.randn(batch, memory, 12, generator=g), mask)
    return (latents, timesteps, actions, text), mem


@pytest.fixture(scope="session")
def make_inputs():
    """The ``_inputs`` factory, as a fixture (test modules here are not a package)."""
    return _inputs
