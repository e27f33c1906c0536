"""``echodsl train``: one profile, the study's recipe, checkpoints you can resume."""

from __future__ import annotations

from pathlib import Path

import click

from echodsl.cli.common import check_spec_names, emit_json, guarded
from echodsl.jsonout import envelope


@click.command(epilog="Exit codes: 0 trained, 1 the spec has errors, 2 usage, IO or training failure.")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--profile", "profile", required=True, help="Profile (or sweep member) to train.")
@click.option("--study", help="Take the setup (backbone, data, train) from this study; default: the one "
                              "study that lists the profile, else tiny preset + embedded world.")
@click.option("--steps", type=click.IntRange(min=1), help="Override the study's train steps.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed (default: the study's first seed, else 0).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Run directory [runs/<profile>-s<seed>].")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option("--compile/--no-compile", "compile_", default=False, show_default=True,
              help="torch.compile the model (worth it on a GPU; no speed-up on a CPU).")
@click.option("--sample-every", type=click.IntRange(min=0), default=0,
              help="Every N steps, roll out a held-out case and log its replay PSNR.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--device", help="cpu, cuda or cuda:N (default: cuda if available).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@guarded
def train(spec, profile, study, steps, seed, out, resume, compile_, sample_every, checkpoint_every, device, as_json):
    """Train one profile of SPEC with the fixed flow-matching recipe (torchrun-aware)."""
    check_spec_names(spec, study=study, profile=profile)  # before torch: a spec error costs no start-up
    from echodsl.runtime.session import TrainRequest
    from echodsl.runtime.session import train as run_training

    result = run_training(TrainRequest(spec, profile, study, seed, steps, out, resume, compile_, sample_every,
                                       checkpoint_every, progress=not as_json, device=device))
    if not result.main:
        return
    summary = {"steps": result.steps, "final_loss": result.final_loss, "skipped_steps": result.skipped,
               "steps_per_s": round(result.steps_per_s, 3), "out": str(result.out),
               "checkpoint": str(result.checkpoint) if result.checkpoint else None, "samples": result.samples}
    if as_json:
        emit_json(envelope(summary))
    else:
        click.echo(f"trained {result.steps} steps: loss {result.final_loss:.4f}, {result.skipped} spike(s) "
                   f"skipped, {result.steps_per_s:.2f} steps/s -> {result.out}")
