"""``storage summary``: the study's spatial family, a time-pooled summary of the profile's
history (by default the K frames the fov retriever picks, as every family reads) pooled to
a small token grid (e.g. 8×8). Every rollout chunk writes it anew from its retrieved history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from echodsl.families.base import Family, StorageConfig, pose_embedding, reject_compression
from echodsl.families.history import HISTORY
from echodsl.params import Param


@dataclass(frozen=True)
class SummaryMemory(StorageConfig):
    kind: ClassVar[str] = "summary"
    grid: tuple[int, int]  # (gh, gw) summary tokens
    pool: str  # mean | max


class SummaryFamily(Family):
    storage = "summary"
    config = SummaryMemory
    arguments = {
        **HISTORY,
        "grid": Param("size", (8, 8), doc="summary tokens per side"),
        "pool": Param("choice", "mean", choices=("mean", "max")),
    }
    default_readout = {"variant": "cross_attention", "args": {"heads": 4, "dedicated": False}}
    readouts = ("joint", "cross_attention", "text_concat")

    def name(self, profile) -> str:
        return "spatial"

    def lower(self, profile, backbone) -> SummaryMemory:
        reject_compression(profile)
        storage = profile.settings.storage
        return SummaryMemory(**self.history(profile), grid=storage.grid, pool=storage.pool)

    def tokens(self, config: SummaryMemory, backbone) -> int:
        return config.grid[0] * config.grid[1]

    def parameters(self, config: SummaryMemory, backbone) -> int:
        d = backbone.dim
        return pose_embedding(d, config.memory_frames) + self.tokens(config, backbone) * d  # + grid positions

    def build(self, config: SummaryMemory, backbone):
        from echodsl.families.summary.storage import SummaryStorage, SummaryStorageConfig

        return SummaryStorage(SummaryStorageConfig(backbone.dim, backbone.grid, config.grid, config.pool,
                                                   config.memory_frames, backbone.fov_deg))


FAMILY = SummaryFamily()
