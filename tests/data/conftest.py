"""Shared fixtures for the data-layer tests: small worlds so the suite stays fast."""

from __future__ import annotations

import pytest

from echodsl.data.world import World, WorldConfig


@pytest.fixture(scope="session")
def world() -> World:
    return World(WorldConfig(scenes=3, height=32, width=32, frames_per_scene=24))
