"""``storage summary``: the study's spatial family, a time-pooled summary of the recent
history pooled to a small token grid (e.g. 8×8). Written incrementally: a running mean or
max folds in only the frames new since the last chunk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from echodsl.memory.families.base import Family, StorageConfig, pose_embedding, reject_compression


@dataclass(frozen=True)
class SummaryMemory(StorageConfig):
    kind: ClassVar[str] = "summary"
    grid: tuple[int, int] = (8, 8)  # (gh, gw) summary tokens
    pool: str = "mean"  # mean | max


class SummaryFamily(Family):
    storage = "summary"
    config = SummaryMemory
    incremental = True

    def name(self, profile) -> str:
        return "spatial"

    def lower(self, profile, backbone) -> SummaryMemory:
        reject_compression(profile)
        h = backbone.history_frames
        return SummaryMemory(memory_frames=h, history=h, grid=tuple(profile.storage["grid"]),
                             pool=profile.storage["pool"])

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
