"""``echodsl export``: write a trained run's outputs in other benchmarks' layouts."""

from __future__ import annotations

import click

from echodsl.cli.common import check_run_path, emit_json, guarded
from echodsl.jsonout import envelope
from echodsl.errors import UsageError


@click.group("export")
def export() -> None:
    """Write a trained run's rollouts for other benchmarks."""


@export.command("mind")
@click.argument("run", type=click.Path(exists=True))
@click.option("--gt", "gt_root", type=click.Path(file_okay=False, exists=True), default=None,
              help="MIND ground-truth root (holding 1st_data/ and 3rd_data/); default: the run's "
                   "data mind(root = ...).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Submission root.")
@click.option("--model", default=None, help="Model folder name (default: the run directory's name).")
@click.option("--mirror-paths", default=10, show_default=True, help="Mirror paths per memory-test clip.")
@click.option("--mirror-frames", type=int, default=None, help="Forward poses per mirror path (default 2 chunks).")
@click.option("--limit", type=int, default=None, help="At most this many clips per perspective and test set.")
@click.option("--steps", default=16, show_default=True, help="Euler steps per chunk.")
@click.option("--stride", type=click.IntRange(min=1), default=None,
              help="Ground-truth frames between two generated ones (default: the preset's training stride); "
                   "the frames between are interpolated.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@guarded
def mind_cmd(run: str, gt_root: str | None, out: str, model: str | None, mirror_paths: int, mirror_frames: int | None,
             limit: int | None, steps: int, stride: int | None, device: str, as_json: bool) -> None:
    """Roll out RUN on MIND's test clips and write MIND's submission layout under OUT/<model>:
    {1st,3rd}_data/{mem_test,action_space_test}/<name>/video.mp4 (the frames from mark_time
    on, generated given the ground truth before it, at the ground truth's resolution and
    24 fps) and {1st,3rd}_data/mirror_test/<name>/path-1..N.mp4 (forward then reverse)."""
    check_run_path(run)  # before torch
    from echodsl.eval.mind_export import export_mind
    from echodsl.runtime.trained import load_trained

    trained = load_trained(run, device)
    if gt_root is None:
        if trained.run.data.variant != "mind":
            raise UsageError("pass --gt MIND_ROOT", hint="the run was not trained on data mind(root = ...)")
        gt_root = trained.run.resolve(trained.run.settings.data.root)
    summary = export_mind(trained, gt_root, out, model=model, mirror_paths=mirror_paths,
                          mirror_frames=mirror_frames, limit=limit, steps=steps, stride=stride, progress=not as_json)
    if as_json:
        emit_json(envelope(summary))
    else:
        click.echo(f"wrote {summary['videos']} videos to {summary['root']}: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(summary["clips"].items())))
        click.echo(f"frames written at {', '.join(summary['written_sizes']) or '-'} (the ground truth's; "
                   f"model {summary['model_size']})")
        if summary["stride"] > 1:
            click.echo(f"generated one frame per {summary['stride']} ground-truth frames: "
                       f"{summary['generated_frames']} generated, {summary['interpolated_frames']} interpolated "
                       "between them to keep 24 fps")
        for note in summary["notes"]:
            click.echo(f"note: {note}")
