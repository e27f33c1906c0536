"""What a trained pair writes to the results store, in the order it writes it: the training
history, then the evaluation (metrics, their definitions, the memory-use diagnostics, the
judged cases, the frames a report shows), then the run's final status.

Every write goes through the run's :class:`~echodsl.store.outbox.Outbox`: queued in order,
delivered by its thread, ridden out through a store outage.
"""

from __future__ import annotations

from pathlib import Path

from echodsl.eval.definitions import current_definition
from echodsl.eval.frames import saved_frame_files
from echodsl.eval.report import EvalReport
from echodsl.runner.claim import Holding
from echodsl.runtime.trainer import Trainer, TrainResult
from echodsl.store import MetricValue
from echodsl.store.definitions import StoredDefinition
from echodsl.store.outbox import Outbox

MEMORY_USE_CASES = 16  # return segments of the final memory-use diagnostics


def record_training(outbox: Outbox, result: TrainResult) -> None:
    """The run's speed and its whole training history (a resumed run's earlier steps included)."""
    outbox.log_metrics(train_metrics(result))


def record_evaluation(outbox: Outbox, report: EvalReport, trainer: Trainer, frame_hw: tuple[int, int],
                      eval_dir: Path) -> None:
    """``report``'s metrics and cases, the definitions they were computed under, the
    trained model's memory-use diagnostics (measured here, between the two) and the
    rollout frames saved under ``eval_dir``."""
    outbox.log_metrics([MetricValue(r.branch, r.name, r.value, chunk=r.chunk)
                        for r in report.metric_rows() if r.value is not None])
    outbox.record_definitions(metric_definitions(report.metric_rows(), frame_hw))
    outbox.log_metrics(memory_metrics(trainer))
    for c in report.case_rows():
        outbox.log_case(c.branch, c.case_id, c.scores, judge=c.judge or "", judge_version=c.judge_version or "",
                        raw_response=c.raw_response, status=c.status, error=c.error)
    for path in saved_frame_files(eval_dir):  # the rollout frames a report shows
        outbox.log_artifact(path, kind="image" if path.suffix == ".png" else "file")


def record_finished(holding: Holding, result: TrainResult, device_hours: float) -> None:
    """Mark the run finished (its steps, step time and device hours) and wait until every
    queued write has arrived."""
    step_s = 1.0 / result.steps_per_s if result.steps_per_s else None
    holding.beat.stop()  # no beat may follow the final status
    holding.outbox.finish_run("finished", steps=result.steps, step_time_s=step_s, device_hours=device_hours,
                              owner=holding.owner)
    holding.outbox.drain()


def memory_metrics(trainer: Trainer) -> list[MetricValue]:
    """Memory-use diagnostics of the trained model on the fixed return segments."""
    use = trainer.memory_use(MEMORY_USE_CASES)
    return [MetricValue("memory", name, value) for name, value in use.to_dict().items()
            if name != "cases" and value is not None]


def train_metrics(result: TrainResult) -> list[MetricValue]:
    """The run's speed and its whole training history (a resumed run's earlier steps included)."""
    rows = [MetricValue("train", "steps_per_s", result.steps_per_s)]
    for entry in result.history:
        if "loss" in entry:
            rows.append(MetricValue("train", "loss", entry["loss"], step=entry["step"]))
        for name, value in (entry.get("memory") or {}).items():
            if name != "cases" and value is not None:
                rows.append(MetricValue("train", f"memory_{name}", value, step=entry["step"]))
        if "replay_psnr" in entry:
            rows.append(MetricValue("train", "replay_psnr", entry["replay_psnr"], step=entry["step"]))
    return rows


def metric_definitions(rows, frame_hw: tuple[int, int]) -> list[StoredDefinition]:
    """The definition each evaluated metric was computed under, at the frame size it was
    scored at (the model's: the evaluation never resizes)."""
    out: dict[tuple[str, str], StoredDefinition] = {}
    for r in rows:
        d = current_definition(r.name)
        if d is not None and r.value is not None:
            out[(r.branch, r.name)] = StoredDefinition(r.branch, r.name, d.id, f"{frame_hw[0]}x{frame_hw[1]}",
                                                       d.to_json())
    return list(out.values())
