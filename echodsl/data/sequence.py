"""A camera sequence as every consumer sees it, whatever produced it (embedded world or a
Context-as-Memory directory): poses, intrinsics, a caption, and frames loaded on demand.

Letters: T frames in the sequence, N requested frames, H/W pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import torch


@dataclass(frozen=True)
class Sequence:
    """One continuous camera path. Frames are produced by ``load`` only when asked for, so a
    dataset never holds every frame in memory (the world renders, a directory reads PNGs)."""

    name: str
    poses: torch.Tensor  # (T, 4, 4) float64 camera-to-world, metres, OpenCV camera axes
    intrinsics: torch.Tensor  # (3, 3) float64, pixels
    height: int
    width: int
    caption: str
    load: Callable[[list[int]], torch.Tensor]  # indices -> (N, 3, H, W) uint8

    def __len__(self) -> int:
        return int(self.poses.shape[0])

    def frames(self, indices: list[int]) -> torch.Tensor:
        """RGB frames (N, 3, H, W) uint8 at ``indices``."""
        if not indices:
            return torch.zeros(0, 3, self.height, self.width, dtype=torch.uint8)
        return self.load(list(indices))


class SequenceSource(Protocol):
    """Anything the segment dataset can draw sequences from."""

    def __len__(self) -> int: ...

    def sequence(self, index: int) -> Sequence: ...


def to_unit_range(frames: torch.Tensor) -> torch.Tensor:
    """uint8 frames (..., 3, H, W) -> float32 in [-1, 1] (the batch contract's range)."""
    return frames.float() / 127.5 - 1.0


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """float frames in [-1, 1] -> uint8 (rounded, clamped)."""
    return ((frames.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


class InMemorySource:
    """A source whose sequences are loaded once, every frame kept in memory.

    For small data sets only (the embedded world at CPU sizes is ~0.2 MB a sequence):
    training draws each frame many times, and rendering it anew each time costs as much
    as the model step itself.
    """

    def __init__(self, source: SequenceSource):
        self.source = source
        self._loaded: dict[int, Sequence] = {}

    def __len__(self) -> int:
        return len(self.source)

    def sequence(self, index: int) -> Sequence:
        if index not in self._loaded:
            seq = self.source.sequence(index)
            frames = seq.frames(list(range(len(seq))))  # (T, 3, H, W) uint8
            self._loaded[index] = replace(seq, load=lambda idx, f=frames: f[idx])
        return self._loaded[index]
