"""The embedded default world: seeded rooms, training camera walks and leave-and-return
probes, rendered on the fly in torch (no files, no downloads, CPU-fast).

Three disjoint scene streams come from one seed: ``train`` (in-domain styles, used by the
segment dataset), ``in`` (held-out scenes in the in-domain styles) and ``open`` (held-out
open-domain styles never used in training), the last two for the return probes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from echodsl.data.camera import intrinsics_from_fov
from echodsl.data.render import Rendered, render
from echodsl.data.scene import STYLES, Scene, make_scene
from echodsl.data.sequence import Sequence
from echodsl.data.trajectory import PathConfig, leave_and_return, random_walk
from echodsl.data.seeding import stable_seed

SPLITS = ("train", "in", "open")


@dataclass(frozen=True)
class WorldConfig:
    """The embedded world. ``scenes`` training scenes of ``frames_per_scene`` frames."""

    scenes: int = 64
    height: int = 32
    width: int = 32
    fov_deg: float = 90.0
    frames_per_scene: int = 64
    objects_per_scene: int = 4
    in_styles: tuple[str, ...] = ("warm", "cool", "earth", "rainbow")
    open_styles: tuple[str, ...] = ("pastel", "neon")
    seed: int = 0
    detail: str = "fine"  # texture scale, see scene.DETAIL
    path: PathConfig = field(default_factory=PathConfig)

    def __post_init__(self) -> None:
        # The open-domain branch is only meaningful if its styles never reach training.
        for name, split in [(s, "in") for s in self.in_styles] + [(s, "open") for s in self.open_styles]:
            if name not in STYLES:
                raise ValueError(f"unknown style {name!r}; known: {sorted(STYLES)}")
            if STYLES[name]["split"] != split:
                raise ValueError(f"style {name!r} is a {STYLES[name]['split']!r} style, not {split!r}")
        assert self.scenes >= 1 and self.frames_per_scene >= 2, self


@dataclass(frozen=True)
class Probe:
    """A rendered leave-and-return probe. ``revisit`` are the frames after the camera has
    been away in which ``anchor_id`` is visible again; ``away`` the frames it is out of view."""

    name: str
    split: str
    scene_index: int
    anchor_id: int
    anchor: str  # e.g. "a red striped sphere"
    caption: str
    poses: torch.Tensor  # (T, 4, 4)
    intrinsics: torch.Tensor  # (3, 3)
    frames: torch.Tensor  # (T, 3, H, W) uint8
    ids: torch.Tensor  # (T, H, W) int64 object ids
    revisit: tuple[int, ...]
    away: tuple[int, ...]

    def as_sequence(self) -> Sequence:
        h, w = self.frames.shape[-2:]
        return Sequence(self.name, self.poses, self.intrinsics, h, w, self.caption,
                        lambda idx: self.frames[idx])




class World:
    """Seeded procedural world; every method is a pure function of the config and arguments."""

    def __init__(self, config: WorldConfig | None = None):
        self.config = config or WorldConfig()
        c = self.config
        self.intrinsics = intrinsics_from_fov(c.width, c.height, c.fov_deg)  # (3, 3)

    def __len__(self) -> int:
        return self.config.scenes

    def scene(self, index: int, split: str = "train") -> Scene:
        """Scene ``index`` of a split; styles cycle through the split's style list."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        styles = self.config.open_styles if split == "open" else self.config.in_styles
        style = styles[index % len(styles)]
        return make_scene(stable_seed(self.config.seed, split, index), style, self.config.objects_per_scene,
                          self.config.detail)

    def render(self, scene: Scene, poses: torch.Tensor) -> Rendered:
        """Render poses (P, 4, 4) of ``scene`` at the configured resolution."""
        c = self.config
        return render(scene, poses, self.intrinsics, c.height, c.width)

    def sequence(self, index: int) -> Sequence:
        """Training sequence ``index``: a random walk through training scene ``index``."""
        c = self.config
        scene = self.scene(index, "train")
        gen = torch.Generator().manual_seed(stable_seed(c.seed, "walk", index))
        poses = random_walk(scene, c.frames_per_scene, gen, c.path)  # (T, 4, 4)
        return Sequence(sequence_name(index), poses, self.intrinsics, c.height, c.width,
                        scene.caption(), lambda idx: self.render(scene, poses[idx]).rgb)

    def probe(self, index: int, split: str = "in", *, away_frames: int = 4,
              turn_deg: float = 180.0, end_frames: int = 4) -> Probe:
        """Leave-and-return probe ``index`` of a held-out split (``in`` or ``open``).

        The anchor cycles through the scene's objects; a start position from which the
        anchor is occluded at the start, or still visible while away, is re-drawn."""
        c = self.config
        scene = self.scene(index, split)
        anchor = scene.objects[index % len(scene.objects)]
        min_pixels = max(2, c.height * c.width // 200)
        for attempt in range(16):
            gen = torch.Generator().manual_seed(stable_seed(c.seed, "probe", split, index, attempt))
            path = leave_and_return(scene, anchor.object_id, gen, c.path, away_frames=away_frames,
                                    turn_deg=turn_deg, end_frames=end_frames)
            out = self.render(scene, path.poses)
            seen = ((out.ids == anchor.object_id).flatten(1).sum(1) >= min_pixels).tolist()
            anywhere = (out.ids == anchor.object_id).flatten(1).any(1).tolist()
            if all(seen[i] for i in path.look) and not any(anywhere[i] for i in path.away):
                revisit = tuple(i for i in list(path.back) + list(path.end) if seen[i])
                away = tuple(i for i in range(len(seen)) if not anywhere[i])
                return Probe(f"{split}{index:04d}", split, index, anchor.object_id, anchor.describe(),
                             scene.caption(), path.poses, self.intrinsics, out.rgb, out.ids, revisit, away)
        raise RuntimeError(f"no valid probe for {split} scene {index} after 16 attempts")

    def probes(self, split: str, count: int, **kwargs) -> list[Probe]:
        """Probes 0..count-1 of ``split`` (keyword arguments as for :meth:`probe`)."""
        return [self.probe(i, split, **kwargs) for i in range(count)]


def sequence_name(index: int) -> str:
    """Context-as-Memory style ``<Scene>_<i>`` name of training sequence ``index``."""
    return f"World{index:04d}_0"
