"""From a resolved spec to the live pieces of one run: backbone config, plan, model and data.

Everything a run depends on is in ``RunConfig`` (the profile, the study's setup and the
seed). Every profile of a study gets the same backbone weights at initialisation (seeded
by the run seed alone), the same training windows and the same held-out cases: only the
memory differs — the study's whole point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from echodsl.backbone import WanBackbone, backbone_config
from echodsl.presets import BackboneConfig
from echodsl.compiler import MemoryPlan, build, lower
from echodsl.data.sources import open_source
from echodsl.data.codec import LatentCache, make_codec
from echodsl.data.retriever import NEAR_M
from echodsl.data.segments import SamplerConfig, SegmentDataset
from echodsl.data.sequence import InMemorySource
from echodsl.data.text import TextConfig
from echodsl.data.trajectory import PathConfig
from echodsl.data.world import World, WorldConfig
from echodsl.errors import UsageError
from echodsl.lang.model import Profile, Study, Variant, sha256_hex
from echodsl.lang.settings import SetupSettings, TrainFlow, settings_of, setup_settings
from echodsl.lang.study import default_setup


@dataclass(frozen=True)
class RunConfig:
    """One (profile × setup × seed): the unit a study trains and evaluates.

    ``train`` already has any command-line override (e.g. ``--steps``) applied, so
    ``setup_hash`` is exactly the ``Study.setup_hash`` of the study as it was run.
    """

    profile: Profile
    backbone: Variant  # wan(preset = ..., config = ...)
    data: Variant  # world(scenes = ...) | cam(root = ...)
    train: Variant  # flow(...)
    eval: tuple[Variant, ...]
    seed: int = 0
    base_dir: Path = Path(".")  # relative paths in the spec resolve against the spec's directory
    study: str | None = None
    vae: Path | None = None  # local AutoencoderKLWan weights for the wan2_1_1_3b preset

    @classmethod
    def from_study(cls, study: Study, profile: Profile, seed: int, base_dir: Path,
                   overrides: dict[str, Any] | None = None, **kw) -> "RunConfig":
        return cls(profile, with_weights_hash(study.backbone, base_dir), study.data,
                   _override(study.train, overrides), study.eval, seed, base_dir, study.name, **kw)

    @classmethod
    def standalone(cls, profile: Profile, seed: int = 0, base_dir: Path = Path("."),
                   overrides: dict[str, Any] | None = None, **kw) -> "RunConfig":
        """A profile trained outside any study: the default setup (tiny preset, embedded world)."""
        s = default_setup()
        return cls(profile, s["backbone"], s["data"], _override(s["train"], overrides), s["eval"], seed, base_dir,
                   None, **kw)

    def study_setup(self) -> dict[str, Any]:
        """The same structure as ``Study.setup()``."""
        return {"backbone": self.backbone.to_json(), "data": self.data.to_json(), "train": self.train.to_json(),
                "eval": [e.to_json() for e in self.eval]}

    def to_json(self) -> dict[str, Any]:
        """Everything but the profile, so a run directory can rebuild its RunConfig."""
        return {**self.study_setup(), "seed": self.seed, "base_dir": str(self.base_dir.resolve()),
                "study": self.study, "vae": str(self.vae) if self.vae else None}

    @classmethod
    def from_json(cls, profile: Profile, data: dict[str, Any]) -> "RunConfig":
        return cls(profile, Variant.from_json(data["backbone"]), Variant.from_json(data["data"]),
                   Variant.from_json(data["train"]), tuple(Variant.from_json(e) for e in data["eval"]),
                   data["seed"], Path(data["base_dir"]), data["study"], Path(data["vae"]) if data["vae"] else None)

    @cached_property
    def settings(self) -> SetupSettings:
        """The setup as typed settings (``run.settings.backbone.weights``): what the run reads."""
        return setup_settings(self.backbone, self.data, self.train, self.eval)

    @property
    def flow(self) -> TrainFlow:
        """The training recipe (``train flow(...)``, overrides applied)."""
        return self.settings.train

    @property
    def setup_hash(self) -> str:
        """What makes two runs of one profile comparable; equals the study's ``setup_hash``."""
        return sha256_hex(self.study_setup())

    @property
    def recipe_hash(self) -> str:
        """``setup_hash`` without the step count: a checkpoint resumes under a longer run."""
        setup = self.study_setup()
        setup["train"]["args"].pop("steps", None)
        return sha256_hex(setup)

    def resolve(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path


def safe_name(name: str) -> str:
    """A profile or study name as a file name (sweep members carry brackets and dots)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _override(train: Variant, overrides: dict[str, Any] | None) -> Variant:
    return Variant(variant=train.variant, args={**train.args, **(overrides or {})}) if overrides else train


def with_weights_hash(backbone: Variant, base_dir: Path) -> Variant:
    """``backbone`` with the sha256 of its pretrained weights (``weights_sha256``) and text
    encoder (``text_encoder_sha256``): the bytes, not the paths, are part of the setup, so
    two runs from different weights never compare as one setup."""
    wan, args = settings_of("backbone", backbone), dict(backbone.args)
    resolve = lambda value: Path(value) if Path(value).is_absolute() else base_dir / value  # noqa: E731
    if wan.weights and wan.weights_sha256 is None:
        from echodsl.backbone.weights import weights_sha256

        args["weights_sha256"] = weights_sha256(resolve(wan.weights))
    if wan.vae and wan.vae_sha256 is None:
        from echodsl.backbone.weights import weights_sha256

        args["vae_sha256"] = weights_sha256(resolve(wan.vae))
    if wan.text_encoder and wan.text_encoder_sha256 is None:
        from echodsl.backbone.text_encoder import encoder_sha256

        args["text_encoder_sha256"] = encoder_sha256(resolve(wan.text_encoder))
    return backbone if args == backbone.args else Variant(variant=backbone.variant, args=args)


def weights_of(run: RunConfig) -> Path | None:
    """The pretrained transformer weights a run starts from (None: random init)."""
    weights = run.settings.backbone.weights
    return run.resolve(weights) if weights else None


def backbone_of(run: RunConfig) -> BackboneConfig:
    backbone = run.settings.backbone
    config, encoder = backbone.config, backbone.text_encoder
    bb = backbone_config(backbone.base_preset, run.resolve(config) if config else None)
    return replace(bb, text_encoder=str(run.resolve(encoder))) if encoder else bb


def plan_of(run: RunConfig) -> MemoryPlan:
    return lower(run.profile, backbone_of(run))


def make_model(plan: MemoryPlan, seed: int, weights: Path | None = None,
               expect_sha256: str | None = None) -> torch.nn.Module:
    """The backbone initialised from the seed alone (or loaded from ``weights``), then the
    profile's memory attached with its own init (zero gates: the loaded model's output)."""
    torch.manual_seed(seed)
    backbone = WanBackbone(plan.backbone)
    model = build(plan, backbone)
    if weights is not None:
        from echodsl.backbone.weights import describe, load_weights

        report = load_weights(backbone.dit, weights)
        if expect_sha256 and report.sha256 != expect_sha256:
            raise UsageError(f"backbone weights {weights} changed since the study was planned "
                             f"(sha256 {report.sha256[:12]} ≠ {expect_sha256[:12]})")
        model.weights_report = report
        if report.missing or report.unexpected:
            import sys

            print(describe(report), file=sys.stderr)
    return model


def source_of(run: RunConfig, split: str = "train"):
    """The sequences a run trains on (``split="train"``)."""
    height, width = backbone_of(run).frame_hw
    if run.data.variant == "world":
        world = world_of(run)
        return InMemorySource(world) if height * width <= 128 * 128 else world
    root = run.resolve(run.settings.data.root)
    if not root.is_dir():
        raise UsageError(f"data root {root} does not exist",
                         hint=f"{run.data.variant}(root = ...) is relative to the spec file")
    if run.data.variant == "mind":
        split = run.settings.data.split
        if split != "train":  # the checker refuses it in a spec; a run directory written before must not slip by
            raise UsageError(f"refusing to train on MIND's {split} clips: they are the clips `echodsl export mind` "
                             "is scored on", hint="train on data mind(root = ..., split = train)")
        return open_source("mind", root, height, width, split)
    return open_source(run.data.variant, root, height, width)


def world_of(run: RunConfig) -> World:
    """The embedded world at the run's resolution: held-out probes come from it."""
    height, width = backbone_of(run).frame_hw
    # A real data set still takes its held-out probes from the world, as `data world` draws it.
    data = run.settings.data if run.data.variant == "world" else settings_of("data", "world")
    return World(WorldConfig(scenes=data.scenes, height=height, width=width, seed=0, detail=data.detail,
                             path=PathConfig(drift=data.drift)))


def sampler_of(run: RunConfig, plan: MemoryPlan) -> SamplerConfig:
    bb, storage = plan.backbone, plan.storage
    return SamplerConfig.for_preset(
        bb.preset,
        memory=storage.memory_frames,
        select=storage.select,
        fov_samples=storage.samples,
        recency=storage.recency,
        fov_key=storage.key,
        fov_overlap=storage.overlap,
        depth_range=(NEAR_M, storage.far),
        chronological=storage.chronological,
        overlap_drop=run.flow.overlap_drop,
        # Same windows for every profile: each starts after one segment of history.
        min_history=bb.segment_frames,
        seed=run.seed,
        text=TextConfig.of(bb),
    )


def vae_of(run: RunConfig) -> Path | None:
    """The VAE weights of a run: ``wan(vae = ...)`` in the spec, else ``RunConfig.vae``."""
    vae = run.settings.backbone.vae
    return run.resolve(vae) if vae else run.vae


def codec_cache(run: RunConfig, cache_dir: Path | None = None) -> LatentCache:
    return LatentCache(make_codec(backbone_of(run).codec, vae_of(run)), cache_dir)


def dataset_of(run: RunConfig, plan: MemoryPlan, cache_dir: Path | None = None) -> SegmentDataset:
    return SegmentDataset(source_of(run), sampler_of(run, plan), codec_cache(run, cache_dir))
