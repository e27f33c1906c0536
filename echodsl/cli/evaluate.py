"""``echodsl eval``: the three-branch evaluation of a trained run; ``echodsl judge``: judge
tools (``calibrate`` compares judges, and humans, on the same cases)."""

from __future__ import annotations

from pathlib import Path

import click

from echodsl.cli.common import check_run_path, emit_json, guarded
from echodsl.jsonout import envelope


@click.command("eval", epilog="Exit codes: 0 evaluated, 1 bad data or weights, 2 usage, IO or internal failure.")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--branches", default="replay,in,open,write", show_default=True, help="Comma-separated subset.")
@click.option("--judge", "judge_name", type=click.Choice(["rubric", "openai"]), default="rubric", show_default=True,
              help="Open-domain judge (openai: ECHODSL_JUDGE_BASE_URL / _MODEL / _API_KEY).")
@click.option("--cases", type=click.IntRange(min=1), default=8, show_default=True, help="Replay and return cases each.")
@click.option("--write-cases", type=click.IntRange(min=2), default=12, show_default=True, help="Write-probe probes per split.")
@click.option("--chunks", type=click.IntRange(min=1), default=4, show_default=True, help="Replay chunks per case.")
@click.option("--steps", type=click.IntRange(min=1), default=16, show_default=True, help="Sampler steps per chunk.")
@click.option("--lpips-weights", type=click.Path(dir_okay=False, path_type=Path), help="Local LPIPS/AlexNet weights.")
@click.option("--device", help="cpu, cuda or cuda:N (default: cpu).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout (progress bars stay on stderr).")
@guarded
def eval_cmd(run, branches, judge_name, cases, write_cases, chunks, steps, lpips_weights, device, as_json):
    """Evaluate RUN (a run directory or one of its checkpoints) on the fixed held-out cases:
    replay (per-chunk PSNR/SSIM/LPIPS), in-domain return, open-domain return (judge) and
    write capacity. Each case is saved to RUN/eval/ as it completes; a re-run skips them."""
    check_run_path(run)  # before torch
    from echodsl.eval.report import EvalConfig, render
    from echodsl.eval.run import evaluate, parse_branches
    from echodsl.runtime.trained import load_trained

    chosen = parse_branches(branches)
    config = EvalConfig(replay_cases=cases, return_cases=cases, write_cases=write_cases, chunks=chunks, steps=steps,
                        lpips_weights=lpips_weights, judge=judge_name)
    report = evaluate(load_trained(run, device or "cpu"), config, chosen)
    if as_json:
        emit_json(envelope(report.to_dict()))
    else:
        click.echo(render(report))


@click.group()
def judge() -> None:
    """Judges of the open-domain return probe."""


@judge.command("calibrate", epilog="Exit codes: 0 success, 1 bad ratings file, 2 usage or IO failure.")
@click.argument("ratings", type=click.Path(dir_okay=False))
@click.option("--reference", default=None, help="Judge to compare against (default: the first in the file).")
@click.option("--bootstrap", default=2000, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap resamples for the Spearman CI.")
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@guarded
def calibrate_cmd(ratings: str, reference: str | None, bootstrap: int, seed: int, as_json: bool) -> None:
    """Agreement of judges on RATINGS.csv: mean ± sd, mean |Δ| and Spearman ρ (bootstrap
    95% CI) vs a reference judge. RATINGS.csv is long (case_id,judge,score) or wide
    (case_id,<judge>,<judge>,...), one overall score 0–100 per case and judge."""
    from echodsl.eval.calibration import calibrate, read_ratings, render_table

    table = calibrate(read_ratings(ratings), reference, bootstrap=bootstrap, seed=seed)
    if as_json:
        emit_json(envelope(table.to_dict()))
    else:
        click.echo(render_table(table))
