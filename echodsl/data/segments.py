"""Training segments (the batch contract of docs/contracts.md) from any sequence source.

A segment is ``segment_frames`` frames taken every ``frame_stride`` frames from a window
start; frame 0 is the anchor. Its memory is chosen from every frame before the window by
:func:`echodsl.data.history.pick_history` (the same call every rollout chunk makes),
given only a selection kind, a count and an order, never a Profile. Overlap-drop (the
seed's 10%) empties the memory of a segment, keeping the anchor.

Letters: F segment frames, M memory frames, C latent channels, H/W pixels, h/w latent grid,
L text tokens, D text width.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import torch
from torch.utils.data import Dataset

from echodsl.data import history, retriever
from echodsl.data.camera import relative_actions
from echodsl.data.codec import LatentCache, make_codec
from echodsl.data.sequence import SequenceSource, to_unit_range
from echodsl.data.text import TextConfig, embed_caption
from echodsl.data.seeding import stable_seed
from echodsl.presets import backbone_config

@dataclass(frozen=True)
class SamplerConfig:
    """How segments and their memory are drawn."""

    segment_frames: int = 5
    frame_stride: int = 1
    window_stride: int = 4  # spacing of window starts within a sequence
    memory: int = 4  # M: memory slots per segment (padding is masked out)
    select: str = "fov"  # "fov" | "recent" | "uniform" | "tail"
    fov_samples: int = 512
    recency: float = 0.0
    fov_key: str = "middle"  # "middle" (the segment's middle frame) | "targets"
    fov_overlap: str = "symmetric"  # "symmetric" | "bounded" | "unbounded"
    depth_range: tuple[float, float] = (0.3, 3.0)  # metres compared in the frusta (the far limit)
    chronological: bool = False  # memory written oldest -> newest whatever select's order
    overlap_drop: float = 0.1  # chance a segment's memory is dropped (anchor kept)
    min_history: int = 0  # windows must start at or after this frame
    seed: int = 0
    text: TextConfig = field(default_factory=TextConfig)

    def __post_init__(self) -> None:
        if self.select not in history.SELECTS:
            raise ValueError(f"select must be one of {history.SELECTS}, got {self.select!r}")
        if self.fov_key not in retriever.KEYS or self.fov_overlap not in retriever.OVERLAPS:
            raise ValueError(f"fov_key must be one of {retriever.KEYS} and fov_overlap one of "
                             f"{retriever.OVERLAPS}, got {self.fov_key!r} and {self.fov_overlap!r}")
        assert self.segment_frames >= 2, f"segment_frames={self.segment_frames}"
        assert 0.0 <= self.overlap_drop < 1.0, f"overlap_drop={self.overlap_drop}"

    @classmethod
    def for_preset(cls, preset: str, **overrides) -> "SamplerConfig":
        """Segment length and frame stride of a preset, plus any overrides."""
        bb = backbone_config(preset)
        base = {"segment_frames": bb.segment_frames, "frame_stride": bb.frame_stride}
        return cls(**{**base, **overrides})

    @property
    def span(self) -> int:
        """Source frames one window covers."""
        return (self.segment_frames - 1) * self.frame_stride + 1




class SegmentDataset(Dataset):
    """Segments of every window of every sequence in ``source``.

    ``cache`` encodes frames to latents (default: the identity ``pixels`` codec). Items are
    dicts following the segment-batch contract, unbatched (the default collate stacks them),
    plus ``memory_indices`` / ``frame_indices`` (source frame numbers, -1 for padding),
    ``caption`` and ``sequence``."""

    def __init__(self, source: SequenceSource, config: SamplerConfig | None = None,
                 cache: LatentCache | None = None):
        self.source = source
        self.config = config or SamplerConfig()
        self.cache = cache or LatentCache(make_codec("pixels"))
        self.epoch = 0
        c = self.config
        self.windows: list[tuple[int, int]] = []
        for s in range(len(source)):
            seq = source.sequence(s)
            if len(seq) - c.span < c.min_history:
                warnings.warn(f"sequence {seq.name} has {len(seq)} frames, fewer than one "
                              f"{c.span}-frame window: skipped", stacklevel=2)
                continue
            self.windows += [(s, t) for t in range(c.min_history, len(seq) - c.span + 1, c.window_stride)]

    def __len__(self) -> int:
        return len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        """Re-draw overlap-drop for a new epoch (the history of a window never changes:
        it is what a rollout anchored there would read)."""
        self.epoch = epoch

    def memory_for(self, index: int) -> list[int]:
        """Source frame numbers of segment ``index``'s retrieved memory (before drop)."""
        s, start = self.windows[index]
        seq = self.source.sequence(s)
        return self._memory(seq, start, self._frame_indices(start), index)

    def _frame_indices(self, start: int) -> list[int]:
        return [start + j * self.config.frame_stride for j in range(self.config.segment_frames)]

    def _memory(self, seq, start: int, frame_idx: list[int], index: int) -> list[int]:
        c = self.config
        return history.pick_history(c.select, c.memory, seq.poses[:start], seq.poses[frame_idx[1:]], seq.intrinsics,
                                    seq.height, seq.width, samples=c.fov_samples, recency=c.recency, key=c.fov_key,
                                    overlap=c.fov_overlap, depth_range=c.depth_range,
                                    chronological=c.chronological)

    def __getitem__(self, index: int) -> dict:
        c = self.config
        s, start = self.windows[index]
        seq = self.source.sequence(s)
        frame_idx = self._frame_indices(start)
        mem_idx = self._memory(seq, start, frame_idx, index)
        gen = torch.Generator().manual_seed(stable_seed(c.seed, self.epoch, index, "drop"))
        if torch.rand(1, generator=gen).item() < c.overlap_drop:
            mem_idx = []
        pixels = seq.frames(frame_idx + mem_idx)  # (F + m, 3, H, W) uint8
        latents = self.cache.encode(pixels)  # (F + m, C, h, w)
        f, m_cap, m = len(frame_idx), c.memory, len(mem_idx)
        poses = seq.poses[frame_idx]  # (F, 4, 4)
        frames = to_unit_range(pixels)
        mem_frames = torch.zeros(m_cap, *frames.shape[1:])
        mem_frames[:m] = frames[f:]
        mem_latents = torch.zeros(m_cap, *latents.shape[1:])
        mem_latents[:m] = latents[f:]
        mem_actions = torch.zeros(m_cap, 12)
        if m:
            mem_actions[:m] = relative_actions(seq.poses[mem_idx], reference=poses[0])
        mask = torch.zeros(m_cap, dtype=torch.bool)
        mask[:m] = True
        return {
            "frames": frames[:f],  # (F, 3, H, W)
            "latents": latents[:f].float(),  # (F, C, h, w)
            "poses": poses.float(),  # (F, 4, 4)
            "intrinsics": seq.intrinsics.float(),  # (3, 3)
            "actions": relative_actions(poses),  # (F, 12)
            "memory_frames": mem_frames,  # (M, 3, H, W)
            "memory_latents": mem_latents,  # (M, C, h, w)
            "memory_actions": mem_actions,  # (M, 12)
            "memory_mask": mask,  # (M,)
            "memory_indices": torch.tensor(mem_idx + [-1] * (m_cap - m), dtype=torch.long),
            "frame_indices": torch.tensor(frame_idx, dtype=torch.long),
            "text": embed_caption(seq.caption, c.text),  # (L, D)
            "caption": seq.caption,
            "sequence": seq.name,
        }


def with_memory(config: SamplerConfig, select: str, count: int) -> SamplerConfig:
    """``config`` with the memory selection of a MemoryPlan (``select``, ``count`` = M)."""
    return replace(config, select=select, memory=count)
