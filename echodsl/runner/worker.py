"""One (profile × seed) of a study, start to finish: train, evaluate, record everything.

Safe to run again at any point, and from any number of processes at once: the store's
claim on the run identity lets exactly one process train it (the others report "busy"), a
finished identity is skipped, an interrupted, failed or dead one is taken over and resumes
from its newest checkpoint whose sha256 matches the one recorded, and a run that dies takes nothing already
recorded with it. Works the same in-process, in a ``--jobs`` subprocess, under torchrun
(rank 0 records) and in a SLURM job.

It trains, hashes and records the pair exactly as planned: the pair carries its resolved
profile, setup, hashes and spec source; the spec file is never read here.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from echodsl.compiler import build_hash
from echodsl.eval.definitions import current_definition
from echodsl.eval.frames import saved_frame_files
from echodsl.eval.plan import EvalPlan, EvalSizes
from echodsl.eval.run import evaluate
from echodsl.lang.model import Study
from echodsl.runner.plan import Pair
from echodsl.runner.signals import RunInterrupted, StopRequest
from echodsl.runtime import assemble
from echodsl.runtime.checkpoint import list_checkpoints, set_aside_corrupt
from echodsl.runtime.distributed import Dist, init_distributed
from echodsl.runtime.pretrain import ensure_pretrained
from echodsl.runtime.trained import load_trained
from echodsl.runtime.trainer import TrainOptions, Trainer, TrainResult
from echodsl.store import MetricValue, RunIdentity, RunInfo, Store, collect_provenance
from echodsl.store.definitions import StoredDefinition
from echodsl.store.outbox import Outbox, deliver_kept
from echodsl.store.owner import process_owner
from echodsl.store.resilience import DEFAULT_RETRY_S, RetryPolicy, StoreUnavailable, StoreUnreachable

HEARTBEAT_S = 20.0
STOP_DRAIN_S = 10.0  # on a stop, how long queued writes may still take to arrive
MEMORY_USE_CASES = 16  # return segments of the final memory-use diagnostics


@dataclass(frozen=True)
class Outcome:
    pair: Pair
    status: str  # "skipped" | "finished" | "failed" | "busy" (another process trains it) | "interrupted"
    run_id: int | None = None
    error: str | None = None
    seconds: float = 0.0
    store_unreachable: bool = False  # failed because the store stayed down past the retry window


def _recorded_setup(run: assemble.RunConfig) -> Study:
    """The study setup ``run`` was planned under (its train recipe with any override), as
    the store records it: ``_recorded_setup(run).setup_hash == run.setup_hash``."""
    return Study(name=run.study or "", backbone=run.backbone, data=run.data, train=run.train, eval=run.eval,
                 profiles=(run.profile,), seeds=(run.seed,))


def shared_cache(pair: Pair) -> Path:
    """Where a study keeps what its runs share (the pretrained backbone): beside the runs."""
    return pair.run_dir.parent


def pretrain_shared(pairs: list[Pair], *, progress: bool = True) -> None:
    """Train the shared backbone(s) the pairs start from, once, in this process (with all
    its cores) before the pairs fan out; workers then find them cached."""
    done = set()
    for pair in pairs:
        run = pair.run
        if run.flow.pretrain and shared_cache(pair) not in done:
            ensure_pretrained(run, shared_cache(pair), progress=progress)
            done.add(shared_cache(pair))


def pair_trainer(pair: Pair, *, resume: bool = False, progress: bool = True, env: Dist | None = None) -> Trainer:
    """The ``Trainer`` a study runs for ``pair``: when its recipe fine-tunes a pretrained
    backbone, that is the study's shared one (beside the runs; trained now if missing)."""
    init = ensure_pretrained(pair.run, shared_cache(pair), progress=progress)
    return Trainer(pair.run, TrainOptions(out=pair.run_dir, resume=resume, progress=progress, init_from=init), env)


def run_pair(pair: Pair, store_url: str, *, sizes: EvalSizes = EvalSizes(), device: str | None = None,
             progress: bool = True, store_retry_s: float = DEFAULT_RETRY_S) -> Outcome:
    """Train, evaluate and record one pair. SIGTERM/SIGINT checkpoint, mark the run
    ``interrupted`` and raise :class:`~echodsl.runner.signals.RunInterrupted`; every other
    failure (the store's included) becomes a "failed" outcome, never an exception.

    The store may blink: every write is retried for up to ``store_retry_s`` seconds of
    outage while training and evaluation go on (see :mod:`echodsl.store.outbox`). Past
    that, the pair stops as a signal stops it (checkpoint first) and fails with
    ``store_unreachable`` set; its undelivered checkpoint records wait in the run
    directory for the next run of the pair."""
    with StopRequest() as stop:
        return _run_pair(pair, store_url, sizes, device, progress, stop, RetryPolicy(store_retry_s, say=_say))


def _say(message: str) -> None:
    """A line on stderr that does not tear a progress bar drawn there."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def _run_pair(pair: Pair, store_url: str, sizes: EvalSizes, device: str | None, progress: bool,
              stop: StopRequest, policy: RetryPolicy) -> Outcome:
    t0 = time.perf_counter()
    store, run_id, beat, owner, outbox = None, None, None, process_owner(), None
    try:
        env = init_distributed(device)
        run = pair.run  # as planned: the spec file is not read again
        identity = RunIdentity(pair.spec_hash, pair.setup_hash, build_hash(), pair.seed)
        checkpoints = pair.run_dir / "checkpoints"
        if env.main:
            store = policy.call(lambda: Store.open(store_url))
            policy.call(lambda: store.record_setup(_recorded_setup(run)))
            policy.call(lambda: store.record_spec(run.profile, pair.source))
            info = RunInfo(identity, pair.profile, pair.study, collect_provenance(str(env.device)),
                           compile_mode="eager")
            claim = policy.call(lambda: store.claim_run(info, owner=owner))
            if claim.action == "done":
                early = Outcome(pair, "skipped", claim.run.run_id, seconds=time.perf_counter() - t0)
            elif claim.action == "busy":
                early = Outcome(pair, "busy", claim.run.run_id, f"run {claim.run.run_id} is being trained by "
                                f"{claim.previous_owner or 'another process'}", time.perf_counter() - t0)
            else:
                early = None
                run_id = claim.run.run_id
                deliver_kept(store, pair.run_dir, policy)  # records an outage kept from the last try
                recorded = {a.path: a.sha256 for a in policy.call(lambda: store.artifacts(run_id))
                            if a.kind == "checkpoint"}
                for note in set_aside_corrupt(checkpoints, recorded):
                    print(f"echodsl: {note}; resuming from the newest intact checkpoint", file=sys.stderr)
                outbox = Outbox(store, run_id, policy)
                beat = _Heartbeat(outbox, owner)
        else:
            early = None
        if env.world > 1:  # every rank follows rank 0's claim (and sees the checkpoints it kept)
            import torch.distributed as dist

            decision = [None if early is None else early.status]
            dist.broadcast_object_list(decision, src=0)
            if decision[0] is not None and early is None:
                early = Outcome(pair, decision[0], seconds=time.perf_counter() - t0)
        if early is not None:
            return early
        resume = bool(list_checkpoints(checkpoints))
        stop.raise_if_requested()
        trainer = pair_trainer(pair, resume=resume, progress=progress, env=env)
        beat and beat.watch(trainer)
        # The outbox failing (store gone past the window) stops training like a signal: checkpoint, stop.
        with stop.training():
            result = trainer.fit(on_checkpoint=lambda p: outbox and outbox.log_artifact(p, kind="checkpoint"),
                                 should_stop=lambda: stop.requested or (outbox is not None and outbox.failure is not None))
        stop.raise_if_requested()
        if outbox is None:
            return Outcome(pair, "finished", seconds=time.perf_counter() - t0)
        outbox.raise_if_failed()
        outbox.log_metrics(_train_metrics(result))
        plan = EvalPlan.from_study(run, run.settings.backbone.preset, sizes)
        report = evaluate(load_trained(pair.run_dir, device=str(env.device)), plan.config,
                          branches=plan.branches, progress=progress, out_dir=pair.run_dir / "eval")
        outbox.log_metrics([MetricValue(r.branch, r.name, r.value, chunk=r.chunk)
                            for r in report.metric_rows() if r.value is not None])
        outbox.record_definitions(metric_definitions(report.metric_rows(), assemble.backbone_of(run).frame_hw))
        outbox.log_metrics(_memory_metrics(trainer))
        for c in report.case_rows():
            outbox.log_case(c.branch, c.case_id, c.scores, judge=c.judge or "", judge_version=c.judge_version or "",
                            raw_response=c.raw_response, status=c.status, error=c.error)
        for path in saved_frame_files(pair.run_dir / "eval"):  # the rollout frames a report shows
            outbox.log_artifact(path, kind="image" if path.suffix == ".png" else "file")
        step_s = 1.0 / result.steps_per_s if result.steps_per_s else None
        hours = (time.perf_counter() - t0) / 3600 * max(env.world, 1)
        stop.raise_if_requested()
        beat.stop()  # no beat may follow the final status
        outbox.finish_run("finished", steps=result.steps, step_time_s=step_s, device_hours=hours, owner=owner)
        outbox.drain()
        return Outcome(pair, "finished", run_id, seconds=time.perf_counter() - t0)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
            exc = RunInterrupted(signal.SIGINT)
        if beat is not None:
            beat.stop()
        unreachable = isinstance(exc, (StoreUnreachable, StoreUnavailable))
        if outbox is not None:
            if not unreachable and outbox.failure is None:
                try:  # e.g. the record of the checkpoint a signal just wrote
                    outbox.drain(timeout=STOP_DRAIN_S)
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
            outbox.close()
            kept = outbox.keep(pair.run_dir)
            if kept:
                print(f"echodsl: {kept} artifact record(s) kept in {pair.run_dir} for the next run of this pair",
                      file=sys.stderr)
        if store is not None and run_id is not None and not unreachable:
            status = "interrupted" if isinstance(exc, RunInterrupted) else "failed"
            try:
                store.finish_run(run_id, status, error=f"{type(exc).__name__}: {exc}", owner=owner)
            except Exception:  # noqa: BLE001 - e.g. taken over meanwhile; the original error matters more
                pass
        if isinstance(exc, Exception):
            error = f"{type(exc).__name__}: {exc}"
            if unreachable and run_id is not None:
                error += "; the run is checkpointed: re-run to resume it"
            return Outcome(pair, "failed", run_id, error, time.perf_counter() - t0, store_unreachable=unreachable)
        raise exc from None
    finally:
        if beat is not None:
            beat.stop()
        if outbox is not None:
            outbox.close()
        if store is not None:
            store.close()


def _memory_metrics(trainer: Trainer) -> list[MetricValue]:
    """Memory-use diagnostics of the trained model on the fixed return segments."""
    use = trainer.memory_use(MEMORY_USE_CASES)
    return [MetricValue("memory", name, value) for name, value in use.to_dict().items()
            if name != "cases" and value is not None]


def _train_metrics(result: TrainResult) -> list[MetricValue]:
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


class _Heartbeat:
    """Beats from a background thread so long steps (or a torch.compile) never read as dead.
    Each beat joins the outbox's queue (a beat still waiting there absorbs the next)."""

    def __init__(self, outbox: Outbox, owner: str):
        self.outbox, self.owner, self.trainer = outbox, owner, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def watch(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.outbox.heartbeat(steps=self.trainer.step if self.trainer else None, owner=self.owner)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


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
