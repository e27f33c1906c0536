"""``storage summary``: the study's spatial family, a time-pooled summary of the profile's
history (by default the K frames the fov retriever picks, as every family reads) pooled to
a small token grid (e.g. 8×8). Every rollout chunk writes it anew from its retrieved history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from echodsl.memory.families.base import Family, StorageConfig, history_fields, pose_embedding, reject_compression


@dataclass(frozen=True)
class SummaryMemory(StorageConfig):
    kind: ClassVar[str] = "summary"
    grid: tuple[int, int]  # (gh, gw) summary tokens
    pool: str  # mean | max


class SummaryFamily(Family):
    storage = "summary"
    config = SummaryMemory

    def name(self, profile) -> str:
        return "spatial"

    def lower(self, profile, backbone) -> SummaryMemory:
        reject_compression(profile)
        storage = profile.settings.storage
        return SummaryMemory(**history_fields(profile), grid=storage.grid, pool=storage.pool)

    def tokens(self, config: SummaryMemory, backbone) -> int:
        return config.grid[0] * config.grid[1]

    def parameters(self, config: SummaryMemory, backbone) -> int:
        d = backbone.dim
        return pose_embedding(d, config.memory_frames) + self.tokens(config, backbone) * d  # + grid positions

    def build(self, config: SummaryMemory, backbone):
        from echodsl.memory.spatial import SummaryConfig, SummaryStore

        return SummaryStore(SummaryConfig(backbone.dim, backbone.grid, config.grid, config.pool,
                                          config.memory_frames, backbone.fov_deg))


FAMILY = SummaryFamily()
