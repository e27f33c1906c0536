"""``evaluate``: the fixed three-branch protocol (plus write capacity) on one trained run.

Every profile is evaluated on the same cases with the same sampler; results are saved per
case under ``<run_dir>/eval/`` as they complete (see :mod:`.resultlog`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from echodsl.errors import UsageError
from echodsl.eval.report import BRANCH_ALIASES, BRANCHES, EvalConfig, EvalReport
from echodsl.runtime.trained import TrainedRun


def parse_branches(text: str | Iterable[str]) -> list[str]:
    """``"replay,in,open,write"`` (or branch names) -> branch names in protocol order."""
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    unknown = [n for n in names if n not in BRANCH_ALIASES]
    if unknown or not names:
        raise UsageError(f"unknown branch {', '.join(unknown) or '(none)'}",
                         hint="choose from replay, in, open, write (comma-separated)")
    chosen = {BRANCH_ALIASES[n] for n in names}
    return [b for b in BRANCHES if b in chosen]


def evaluate(trained: TrainedRun, config: EvalConfig | None = None, branches: Iterable[str] = BRANCHES,
             progress: bool = True, out_dir: Path | None = None) -> EvalReport:
    """Run the chosen branches (names or CLI aliases) and return their report."""
    from echodsl.eval.branches import Context, return_report, run_probes, run_replay, write_report
    from echodsl.eval.generate import Generator
    from echodsl.eval.lpips import load_lpips
    from echodsl.runtime import assemble

    config = config or EvalConfig()
    chosen = parse_branches(list(branches))
    gen = Generator(trained, config)
    judge = None
    if "return_open" in chosen:
        from echodsl.eval.judges import make_judge

        judge = make_judge(config.judge, **config.judge_options)
    identity = {"checkpoint": trained.checkpoint.name, "step": trained.step, **trained.identity,
                **gen.sampler(), "away_frames": config.away_frames}
    ctx = Context(gen, assemble.world_of(trained.run), config, out_dir or trained.directory / "eval",
                  load_lpips(config.lpips_weights), judge, identity, progress)

    reports = {}
    if "replay" in chosen:
        reports["replay"] = run_replay(ctx)
    write = "write" in chosen and gen.has_memory
    write_cases = []
    for split in ("in", "open"):
        branch = f"return_{split}"
        if branch in chosen or write:
            scored, written = run_probes(ctx, split, branch in chosen, write)
            write_cases += written
            if branch in chosen:
                reports[branch] = return_report(ctx, split, scored)
    if "write" in chosen:
        reports["write"] = write_report(ctx, write_cases)
    run = {"directory": str(trained.directory), "checkpoint": str(trained.checkpoint), "step": trained.step,
           "profile": trained.run.profile.name, "study": trained.run.study, **trained.identity,
           "sampler": gen.sampler(), "seconds": {k: round(v, 2) for k, v in ctx.timings.items()}}
    return EvalReport(run, config, reports)
