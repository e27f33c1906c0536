"""Shared fixtures for the evaluation tests: one small world and a few of its probes,
rendered once per session (rendering dominates the suite's run time)."""

from __future__ import annotations

import pytest

from echodsl.data.world import World, WorldConfig


@pytest.fixture(scope="session")
def world() -> World:
    return World(WorldConfig(scenes=2, height=32, width=32, frames_per_scene=16))


@pytest.fixture(scope="session")
def open_probe(world):
    return world.probe(0, "open")


@pytest.fixture(scope="session")
def in_probe(world):
    return world.probe(1, "in")


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """These tests use tiny tensors; on a shared 2-core machine intra-op threads spin
    against other jobs and made them many times slower. Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
