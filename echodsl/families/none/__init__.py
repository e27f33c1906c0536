"""``storage none``: the I2V baseline, which remembers nothing beyond its anchor frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from echodsl.families.base import Family, StorageConfig, reject_compression


@dataclass(frozen=True)
class NoMemory(StorageConfig):
    kind: ClassVar[str] = "none"


class NoneFamily(Family):
    storage = "none"
    config = NoMemory
    anchor_only = True

    def name(self, profile) -> str:
        return "i2v"

    def lower(self, profile, backbone) -> NoMemory:
        reject_compression(profile)
        return NoMemory(**self.history(profile))  # no history: the anchor alone (k = 1)

    def attach(self, config, profile, backbone) -> tuple[int, ...]:
        return ()


FAMILY = NoneFamily()
