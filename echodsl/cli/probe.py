"""``echodsl probe``: does a trained run read its memory? (memory-use diagnostics)."""

from __future__ import annotations

from pathlib import Path

import click

from echodsl.cli.common import emit_json, guarded
from echodsl.jsonout import envelope

ROWS = (
    ("loss_with", "teacher-forced target loss, memory kept"),
    ("loss_without", "the same with the memory removed"),
    ("gain", "memory gain = without - with (> 0: the memory helps)"),
    ("attn_memory", "share of the targets' attention on memory tokens"),
    ("attn_memory_chance", "that share if attention ignored content (valid memory keys / all keys)"),
    ("attn_overlap_x", "attention per overlapping memory token / per memory token"),
    ("gate_abs", "mean |gate| of the read-out's zero-initialised parameters"),
    ("necessity", "share of the targets' view the anchor lacks and the memory holds"),
)


@click.command("probe", epilog="Exit codes: 0 measured, 1 bad run, 2 usage, IO or internal failure.")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--cases", type=click.IntRange(min=1), default=16, show_default=True,
              help="Held-out return segments to score.")
@click.option("--device", help="cpu, cuda or cuda:N (default: cpu).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@guarded
def probe(run: Path, cases: int, device: str | None, as_json: bool) -> None:
    """Memory-use diagnostics of RUN (a run directory or one of its checkpoints) on fixed
    held-out return segments, teacher-forced: the loss with and without the memory, where
    the targets' attention goes, gate magnitudes, and how much the data needs memory."""
    from echodsl.runtime.memory_use import measure, return_segments
    from echodsl.runtime.trained import load_trained

    trained = load_trained(run, device or "cpu")
    use = measure(trained.model, return_segments(trained.run, trained.plan, cases), trained.run.seed)
    if as_json:
        emit_json(envelope({"run": str(run), "step": trained.step, **use.to_dict()}))
        return
    click.echo(f"{trained.run.profile.name} at step {trained.step}, {use.cases} return segments")
    for key, meaning in ROWS:
        value = getattr(use, key)
        click.echo(f"  {key:<19} {'n/a' if value is None else f'{value:.4f}':>9}   {meaning}")
