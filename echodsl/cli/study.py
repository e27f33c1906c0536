"""``echodsl study``: every (profile × seed) of a study, trained, evaluated and recorded."""

from __future__ import annotations

from pathlib import Path

import click

from echodsl.cli.common import check_spec_names, guarded


@click.command(epilog="Exit codes: 0 every pair finished (or was already, or another process trains it), "
                      "1 a pair failed, the spec has errors, or (--strict) the designs are confounded, 2 usage or IO problem, 130/143 stopped by "
                      "SIGINT/SIGTERM (each running pair checkpointed and marked interrupted). Re-running "
                      "skips finished pairs and resumes interrupted ones from their newest intact checkpoint; "
                      "any number of study processes may share one store (each pair is trained once).")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--study", "study", required=True, help="Study to run.")
@click.option("--store", "store", envvar="ECHODSL_STORE", metavar="URL|PATH",
              help="Results store [default: echodsl.db beside SPEC; env ECHODSL_STORE].")
@click.option("--dry-run", is_flag=True, help="Print the plan (what is done, resumed, new) and stop.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Pairs in parallel processes.")
@click.option("--gpus-per-run", type=click.IntRange(min=1), default=1, show_default=True,
              help="Launch each pair with torchrun on this many processes.")
@click.option("--launcher", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="slurm: submit each pair as a job through submitit (pip install echodsl[slurm]).")
@click.option("--steps", type=click.IntRange(min=1), help="Override the study's training steps.")
@click.option("--eval-cases", type=click.IntRange(min=1), help="Held-out cases per branch [preset default].")
@click.option("--eval-steps", type=click.IntRange(min=1), help="Sampler steps per chunk [preset default].")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), help="[runs/<study> beside SPEC]")
@click.option("--device", help="cpu, cuda or cuda:N (default: cuda if available).")
@click.option("--store-retry", type=click.FloatRange(min=0), default=300, show_default=True, metavar="SECONDS",
              envvar="ECHODSL_STORE_RETRY", help="How long a pair rides out an unreachable or locked store "
              "(training goes on, writes wait) before it checkpoints and stops [env ECHODSL_STORE_RETRY].")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or outcomes as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1, before training anything, when the study's designs differ in "
              "anything but the memory representation (history, action, placement).")
@guarded
def study(spec, study, store, dry_run, jobs, gpus_per_run, launcher, steps, eval_cases, eval_steps, runs_dir,
          device, store_retry, as_json, strict):
    """Run a study: train each profile × seed, evaluate all branches, record in the store, compare."""
    check_spec_names(spec, study=study)  # before torch: a spec error or typo costs no start-up
    if store is not None:
        from echodsl.store.naming import name_store
        name_store(store)  # a directory, or a file in a missing directory: said now
    from echodsl.cli.study_render import echo_outcome, leave_interrupted, show_result
    from echodsl.eval.plan import EvalSizes
    from echodsl.runner.launch import LaunchOptions
    from echodsl.runner.signals import RunInterrupted
    from echodsl.runner.study import StudyRequest, run_study

    launch = LaunchOptions(jobs, gpus_per_run, launcher, sizes=EvalSizes(eval_cases, None, eval_steps), device=device,
                           store_retry_s=store_retry)
    request = StudyRequest(spec, study, store, runs_dir, steps, dry_run, launch, strict)
    try:
        result = run_study(request, (lambda o: None) if as_json else echo_outcome)
    except RunInterrupted as exc:
        leave_interrupted(exc)
    show_result(result, as_json)
    raise SystemExit(1 if result.failed or (strict and result.confounds) else 0)
