"""``echodsl data``: export the embedded world, check a dataset, preview a probe."""

from __future__ import annotations

import functools
import json
import sys

import click

from echodsl.errors import DataError, EchoError


def _errors(fn):
    """Turn echodsl errors into a message and exit 1 (data) or 2 (usage/IO), no traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (EchoError, OSError, ValueError) as exc:
            code = 1 if isinstance(exc, DataError) else 2
            if kwargs.get("as_json"):
                click.echo(json.dumps({"format_version": "1.0", "ok": False, "error": str(exc)}))
            else:
                click.echo(f"error: {exc}", err=True)
            sys.exit(code)
    return wrapper


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
@_errors
def export_world_cmd(out: str, scenes: int, frames: int, size: int, seed: int, as_json: bool) -> None:
    """Write the embedded world to OUT in the Context-as-Memory layout."""
    from echodsl.data.export import export_world
    from echodsl.data.world import World, WorldConfig

    world = World(WorldConfig(scenes=scenes, frames_per_scene=frames, height=size, width=size, seed=seed))
    summary = export_world(world, out, progress=not as_json)
    if as_json:
        click.echo(json.dumps({"format_version": "1.0", **summary}))
    else:
        click.echo(f"wrote {summary['sequences']} sequences, {summary['frames']} frames, "
                   f"{summary['windows']} windows to {out}")


@data.command("check")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--poses", is_flag=True, help="Add each frame's camera-to-world matrix (metres, OpenCV axes).")
@click.option("--fov", default=90.0, show_default=True, help="Horizontal FOV where a JSON records none.")
@_errors
def check(root: str, as_json: bool, poses: bool, fov: float) -> None:
    """Read every sequence of a Context-as-Memory ROOT and report problems (exit 1 if any error)."""
    from echodsl.data.check import check_dataset, render_text

    report = check_dataset(root, poses=poses, fov_deg=fov, progress=not as_json)
    click.echo(json.dumps(report.to_dict()) if as_json else render_text(report))
    sys.exit(0 if report.ok else 1)


@data.command("preview")
@click.option("--scene", default=0, show_default=True, help="Probe index.")
@click.option("--split", type=click.Choice(["in", "open"]), default="in", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="preview.png", show_default=True)
@click.option("--size", default=64, show_default=True, help="Render resolution in pixels.")
@click.option("--away", default=4, show_default=True, help="Frames held facing away.")
@click.option("--json", "as_json", is_flag=True)
@_errors
def preview(scene: int, split: str, out: str, size: int, away: int, as_json: bool) -> None:
    """Render a leave-and-return probe as a strip; revisit frames framed green, away red."""
    from echodsl.data.preview import save_preview
    from echodsl.data.world import World, WorldConfig

    probe = World(WorldConfig(height=size, width=size)).probe(scene, split, away_frames=away)
    info = save_preview(probe, out)
    if as_json:
        click.echo(json.dumps({"format_version": "1.0", **info}))
    else:
        click.echo(f"{out}: probe {info['probe']}, anchor {info['anchor']}, revisit frames {info['revisit']}")
