"""One (profile × seed) of a study, start to finish: train, evaluate, record everything.

Safe to run again at any point, and from any number of processes at once: the store's
claim on the run identity lets exactly one process train it (the others report "busy"), a
finished identity is skipped, an interrupted, failed or dead one is taken over and resumes
from its newest checkpoint whose sha256 matches the one recorded, and a run that dies takes nothing already
recorded with it. Works the same in-process, in a ``--jobs`` subprocess, under torchrun
(rank 0 records) and in a SLURM job.

It trains, hashes and records the pair exactly as planned: the pair carries its resolved
profile, setup, hashes and spec source; the spec file is never read here. The steps, one
function each: claim (:mod:`.claim`), train, evaluate, record (:mod:`.record`), and on any
failure, release the run and say what happened (:func:`_failed`).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from echodsl.eval.plan import EvalPlan, EvalSizes
from echodsl.eval.report import EvalReport
from echodsl.eval.run import evaluate
from echodsl.runner.claim import Holding, claim_pair, follow_rank0
from echodsl.runner.outcome import Outcome
from echodsl.runner.plan import Pair
from echodsl.runner.record import record_evaluation, record_finished, record_training
from echodsl.runner.signals import RunInterrupted, StopRequest
from echodsl.runtime import assemble
from echodsl.runtime.checkpoint import list_checkpoints
from echodsl.runtime.distributed import Dist, init_distributed
from echodsl.runtime.pretrain import ensure_pretrained
from echodsl.runtime.trained import load_trained
from echodsl.runtime.trainer import TrainOptions, Trainer, TrainResult
from echodsl.store.resilience import DEFAULT_RETRY_S, RetryPolicy, StoreUnavailable, StoreUnreachable

STOP_DRAIN_S = 10.0  # on a stop, how long queued writes may still take to arrive


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
    """claim -> train -> evaluate -> record; any failure on the way -> :func:`_failed`."""
    t0, holding = time.perf_counter(), Holding()
    try:
        env = init_distributed(device)
        decision = follow_rank0(env, claim_pair(pair, store_url, env, policy, holding) if env.main else None)
        if decision.status != "run":
            return Outcome(pair, decision.status, decision.run_id, decision.error, time.perf_counter() - t0)
        trainer, result = _train(pair, holding, env, stop, progress)
        outbox = holding.outbox
        if outbox is None:  # a rank other than 0: rank 0 evaluates and records
            return Outcome(pair, "finished", seconds=time.perf_counter() - t0)
        outbox.raise_if_failed()
        record_training(outbox, result)
        report = _evaluate(pair, env, sizes, progress)
        record_evaluation(outbox, report, trainer, assemble.backbone_of(pair.run).frame_hw, pair.run_dir / "eval")
        hours = (time.perf_counter() - t0) / 3600 * max(env.world, 1)
        stop.raise_if_requested()
        record_finished(holding, result, hours)
        return Outcome(pair, "finished", holding.run_id, seconds=time.perf_counter() - t0)
    except BaseException as exc:
        return _failed(pair, holding, exc, t0)
    finally:
        holding.close()


def _train(pair: Pair, holding: Holding, env: Dist, stop: StopRequest, progress: bool) -> tuple[Trainer, TrainResult]:
    """Train the pair (resuming from its newest checkpoint, if any); a stop request, or the
    outbox failing (the store gone past the window), stops it like a signal: checkpoint, stop."""
    resume = bool(list_checkpoints(pair.run_dir / "checkpoints"))
    stop.raise_if_requested()
    trainer = pair_trainer(pair, resume=resume, progress=progress, env=env)
    outbox = holding.outbox
    holding.beat and holding.beat.watch(trainer)
    with stop.training():
        result = trainer.fit(on_checkpoint=lambda p: outbox and outbox.log_artifact(p, kind="checkpoint"),
                             should_stop=lambda: stop.requested or (outbox is not None and outbox.failure is not None))
    stop.raise_if_requested()
    return trainer, result


def _evaluate(pair: Pair, env: Dist, sizes: EvalSizes, progress: bool) -> EvalReport:
    """The study's evaluation of the pair's newest checkpoint (frames saved under ``eval/``)."""
    run = pair.run
    plan = EvalPlan.from_study(run, run.settings.backbone.preset, sizes)
    return evaluate(load_trained(pair.run_dir, device=str(env.device)), plan.config,
                    branches=plan.branches, progress=progress, out_dir=pair.run_dir / "eval")


def _failed(pair: Pair, holding: Holding, exc: BaseException, t0: float) -> Outcome:
    """Map what stopped the pair: a signal (or Ctrl-C) is re-raised as
    :class:`RunInterrupted`, anything else becomes a "failed" outcome. Either way, what is
    queued is delivered if the store is there (else kept in the run directory for the next
    try) and the run is marked interrupted or failed."""
    if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
        exc = RunInterrupted(signal.SIGINT)
    unreachable = isinstance(exc, (StoreUnreachable, StoreUnavailable))
    _release(pair, holding, exc, unreachable)
    if isinstance(exc, Exception):
        error = f"{type(exc).__name__}: {exc}"
        if unreachable and holding.run_id is not None:
            error += "; the run is checkpointed: re-run to resume it"
        return Outcome(pair, "failed", holding.run_id, error, time.perf_counter() - t0, store_unreachable=unreachable)
    raise exc from None


def _release(pair: Pair, holding: Holding, exc: BaseException, unreachable: bool) -> None:
    """Give up the pair's run after ``exc``: stop its heartbeat, flush or keep its queued
    writes, and record why it ended (unless the store is out of reach)."""
    if holding.beat is not None:
        holding.beat.stop()
    outbox = holding.outbox
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
    if holding.store is not None and holding.run_id is not None and not unreachable:
        status = "interrupted" if isinstance(exc, RunInterrupted) else "failed"
        try:
            holding.store.finish_run(holding.run_id, status, error=f"{type(exc).__name__}: {exc}", owner=holding.owner)
        except Exception:  # noqa: BLE001 - e.g. taken over meanwhile; the original error matters more
            pass
