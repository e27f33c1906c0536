"""``echodsl data``: export the embedded world, index and check a dataset, preview a probe."""

from __future__ import annotations

import sys

import click

from echodsl.cli.common import emit_json, guarded
from echodsl.errors import UsageError
from echodsl.jsonout import envelope


@click.group()
def data() -> None:
    """The embedded world and Context-as-Memory datasets."""


@data.command("export-world")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--scenes", default=8, show_default=True, help="Training scenes to write.")
@click.option("--frames", default=161, show_default=True, help="Frames per scene.")
@click.option("--size", default=32, show_default=True, help="Frame height and width in pixels.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@guarded
def export_world_cmd(out: str, scenes: int, frames: int, size: int, seed: int, as_json: bool) -> None:
    """Write the embedded world to OUT exactly in the Context-as-Memory layout (with
    Echo-Memory's metadata_full.csv)."""
    from echodsl.data.export import export_world
    from echodsl.data.world import World, WorldConfig

    world = World(WorldConfig(scenes=scenes, frames_per_scene=frames, height=size, width=size, seed=seed))
    summary = export_world(world, out, progress=not as_json)
    if as_json:
        emit_json(envelope(summary))
    else:
        click.echo(f"wrote {summary['sequences']} sequences, {summary['frames']} frames, "
                   f"{summary['windows']} windows to {out}")


@data.command("index")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to write (default ROOT/metadata_full.csv).")
@click.option("--window", default=81, show_default=True, help="Frames per window (stride window // 2).")
@click.option("--json", "as_json", is_flag=True)
@guarded
def index_cmd(root: str, out: str | None, window: int, as_json: bool) -> None:
    """Write ROOT's metadata_full.csv as Echo-Memory's preprocessing does (same rows)."""
    from echodsl.data.index import write_index

    summary = write_index(root, out, window)
    if as_json:
        emit_json(envelope(summary))
    else:
        click.echo(f"wrote {summary['windows']} windows of {summary['scenes']} scenes to {summary['path']}")


@data.command("check")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--poses", is_flag=True, help="Add each frame's camera-to-world matrix (metres, OpenCV axes).")
@click.option("--fov", default=90.0, show_default=True, help="Horizontal FOV where a JSON records none.")
@click.option("--spec", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Score the retriever of --profile in this spec against the labels.")
@click.option("--profile", default=None, help="Profile whose frames(k, select = fov(...)) to score.")
@click.option("--k", "k", type=int, default=None, help="Memory frames retrieved (default 19 = k 20 - anchor).")
@click.option("--samples", type=int, default=None, help="fov samples (default 512).")
@click.option("--recency", type=float, default=None, help="fov recency weight (default 0).")
@click.option("--label-frames", default=16, show_default=True, help="Labelled frames scored per sequence.")
@guarded
def check(root: str, as_json: bool, poses: bool, fov: float, spec: str | None, profile: str | None,
          k: int | None, samples: int | None, recency: float | None, label_frames: int) -> None:
    """Read every sequence of a Context-as-Memory ROOT and report problems (exit 1 if any error)."""
    from dataclasses import replace

    from echodsl.data.check import RetrievalCheck, check_dataset, render_text

    if (spec is None) != (profile is None):
        raise UsageError("--spec and --profile go together")
    if spec is not None:
        import echodsl

        rc = RetrievalCheck.from_profile(echodsl.load(spec).profile(profile), frames=label_frames)
    else:
        rc = RetrievalCheck(frames=label_frames)
    overrides = {n: v for n, v in (("k", k), ("samples", samples), ("recency", recency)) if v is not None}
    if overrides:
        rc = replace(rc, **overrides, source="command line" if spec is None else rc.source + " + command line")
    report = check_dataset(root, poses=poses, fov_deg=fov, retrieval=rc, progress=not as_json)
    if as_json:
        emit_json(report.to_dict(), indent=None)  # one line: with --poses it is large
    else:
        click.echo(render_text(report))
    sys.exit(0 if report.ok else 1)


@data.command("preview")
@click.option("--scene", default=0, show_default=True, help="Probe index.")
@click.option("--split", type=click.Choice(["in", "open"]), default="in", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="preview.png", show_default=True)
@click.option("--size", default=64, show_default=True, help="Render resolution in pixels.")
@click.option("--away", default=4, show_default=True, help="Frames held facing away.")
@click.option("--json", "as_json", is_flag=True)
@guarded
def preview(scene: int, split: str, out: str, size: int, away: int, as_json: bool) -> None:
    """Render a leave-and-return probe as a strip; revisit frames framed green, away red."""
    from echodsl.data.preview import save_preview
    from echodsl.data.world import World, WorldConfig

    probe = World(WorldConfig(height=size, width=size)).probe(scene, split, away_frames=away)
    info = save_preview(probe, out)
    if as_json:
        emit_json(envelope(info), indent=None)
    else:
        click.echo(f"{out}: probe {info['probe']}, anchor {info['anchor']}, revisit frames {info['revisit']}")


@data.command("encode")
@click.argument("root", type=click.Path(file_okay=False, exists=True))
@click.option("--spec", type=click.Path(dir_okay=False, exists=True), required=True,
              help="Spec whose study sets the backbone (frame size, VAE, text encoder).")
@click.option("--study", "study_name", required=True, help="Study to encode for.")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="Latent cache directory [$ECHODSL_CACHE/latents or ~/.cache/echodsl/latents].")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@guarded
def encode_cmd(root: str, spec: str, study_name: str, cache: str | None, as_json: bool) -> None:
    """Encode every frame (VAE latents) and caption (text encoder) of ROOT once, into the
    caches training reads. Resumable: cached frames are checked against their sha256, not redone."""
    from pathlib import Path

    import echodsl
    from echodsl.runtime.encode import encode_dataset
    from echodsl.runtime.assemble import RunConfig

    study = echodsl.load(spec).study(study_name)
    if study.data.variant not in ("cam", "mind"):
        raise UsageError(f"study `{study_name}` reads data {study.data.variant}(...), not a dataset on disk")
    run = RunConfig.from_study(study, study.profiles[0], study.seeds[0], Path(spec).resolve().parent)
    summary = encode_dataset(run, Path(root), Path(cache) if cache else None, progress=not as_json)
    if as_json:
        emit_json(envelope(summary.to_json()))
    else:
        click.echo(f"encoded {summary.encoded} of {summary.frames} frames ({summary.frames - summary.encoded} "
                   f"already cached) in {summary.sequences} sequences, {summary.captions} captions -> {summary.cache}")
