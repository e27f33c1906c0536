"""Running a study's pairs: in this process, in parallel processes, under torchrun, or on
SLURM through submitit. Every path ends in :func:`echodsl.runner.worker.run_pair` writing to
one shared store, so they can be mixed and re-run freely."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from echodsl.errors import UsageError
from echodsl.runner.plan import Pair
from echodsl.runner.signals import RunInterrupted, install_stop_handler, restore_handlers
from echodsl.eval.plan import EvalSizes
from echodsl.runner.outcome import Outcome
from echodsl.runner.worker import run_pair
from echodsl.store.resilience import DEFAULT_RETRY_S

STORE_ENV, PARENT_ENV = "ECHODSL_WORKER_STORE", "ECHODSL_WORKER_PARENT"  # read by echodsl.runner.__main__

LAUNCHERS = ("local", "slurm")
STORE_UNREACHABLE_EXIT = 5  # a worker's exit code when the store stayed down past the retry window


@dataclass(frozen=True)
class LaunchOptions:
    jobs: int = 1  # pairs in parallel (local launcher)
    gpus_per_run: int = 1  # >1: each pair runs under torchrun with this many processes
    launcher: str = "local"  # "local" | "slurm"
    slurm_folder: Path | None = None  # submitit's log folder
    slurm_executor: str | None = None  # "local" runs submitit's LocalExecutor (tests, laptops)
    sizes: EvalSizes = EvalSizes()
    device: str | None = None
    store_retry_s: float = DEFAULT_RETRY_S  # how long a store outage is ridden out


def run_pairs(pairs: list[Pair], store_url: str, options: LaunchOptions,
              report: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Run every pair; ``report`` hears of each outcome as it arrives (in completion order)."""
    if options.launcher == "slurm":
        return _slurm(pairs, store_url, options, report)
    if options.launcher != "local":
        raise UsageError(f"unknown launcher {options.launcher!r}; choose one of {', '.join(LAUNCHERS)}")
    if options.jobs == 1 and options.gpus_per_run == 1:
        outcomes = []
        for pair in pairs:
            if outcomes and outcomes[-1].store_unreachable:  # waiting out the window again helps no one
                outcome = Outcome(pair, "interrupted", error="not started: the store is unreachable")
            else:
                outcome = run_pair(pair, store_url, sizes=options.sizes, device=options.device, progress=True,
                                   store_retry_s=options.store_retry_s)
            report(outcome)
            outcomes.append(outcome)
        return outcomes
    outcomes = []
    with _Workers() as workers, ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = [pool.submit(_subprocess, pair, store_url, options, workers) for pair in pairs]
        for future in as_completed(futures):
            outcome = future.result()
            report(outcome)
            outcomes.append(outcome)
    if workers.signum is not None:
        raise RunInterrupted(workers.signum)
    return outcomes


class _Workers:
    """The live worker processes of ``--jobs N``. A SIGTERM/SIGINT to this process is
    forwarded to each (they checkpoint, mark their runs interrupted and exit) and no new
    pair starts; if this process is killed outright, they get SIGTERM from the kernel."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.store_unreachable = False  # a worker gave up on the store: start no more
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "_Workers":
        self._previous = install_stop_handler(self._forward)
        return self

    def __exit__(self, *exc) -> None:
        restore_handlers(self._previous)

    def start(self, command: list[str], **kwargs) -> subprocess.Popen | None:
        with self._lock:
            if self.signum is not None or self.store_unreachable:
                return None
            proc = subprocess.Popen(command, **kwargs)
            self._procs.add(proc)
            return proc

    def wait(self, proc: subprocess.Popen) -> int:
        code = proc.wait()
        with self._lock:
            self._procs.discard(proc)
        return code

    def _forward(self, signum: int, _frame) -> None:
        self.signum = self.signum or signum
        for proc in list(self._procs):
            try:
                proc.send_signal(signum)
            except OSError:
                pass


def worker_env(store_url: str, options: LaunchOptions) -> dict[str, str]:
    """The worker's environment: the store URL travels here, not in argv (``ps`` shows argv)."""
    # N workers share the machine: give each its share of cores unless the user chose.
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // options.jobs))
    env = {**os.environ, "OMP_NUM_THREADS": threads, STORE_ENV: store_url}
    if options.gpus_per_run == 1:  # under torchrun the worker's parent is torchrun, which forwards signals
        env[PARENT_ENV] = str(os.getpid())
    return env


def worker_command(pair: Pair, store_url: str, options: LaunchOptions) -> list[str]:
    """The command line that runs one pair in a fresh process (torchrun-wrapped if asked).
    ``store_url`` is not on it: pass :func:`worker_env` as the environment. The planned pair
    (its resolved run and spec text, which may be large) travels in ``<run_dir>/pair.json``:
    one command-line argument is capped at 128 KiB."""
    path = pair.run_dir / "pair.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pair.to_json(), encoding="utf-8")
    args = ["-m", "echodsl.runner", str(path)]
    s = options.sizes
    args += [f"--cases={s.cases or 0}", f"--chunks={s.chunks or 0}", f"--steps={s.steps or 0}",
             f"--store-retry={options.store_retry_s:g}"]
    if options.device:
        args.append(f"--device={options.device}")
    if options.gpus_per_run > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={options.gpus_per_run}"] + args
    return [sys.executable] + args


def _subprocess(pair: Pair, store_url: str, options: LaunchOptions, workers: _Workers) -> Outcome:
    log = pair.run_dir / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        # its own session: a terminal's Ctrl-C reaches only this process, which forwards it once
        proc = workers.start(worker_command(pair, store_url, options), stdout=out, stderr=subprocess.STDOUT,
                             env=worker_env(store_url, options), start_new_session=True)
        if proc is None:
            why = "the store is unreachable" if workers.store_unreachable else "the study was interrupted"
            return Outcome(pair, "interrupted", error=f"not started: {why}")
        code = workers.wait(proc)
    if code == STORE_UNREACHABLE_EXIT:
        workers.store_unreachable = True
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    status = {0: "finished", 3: "skipped", 4: "busy"}.get(code, "interrupted" if code > 128 else "failed")
    return Outcome(pair, status, error=None if status in ("finished", "skipped") else f"exit {code}: "
                   f"{tail[0] if tail else ''} (log: {log})", store_unreachable=code == STORE_UNREACHABLE_EXIT)


def _slurm_entry(pair: Pair, store_url: str, sizes: EvalSizes, device: str | None,
                 store_retry_s: float = DEFAULT_RETRY_S) -> Outcome:
    """Inside a SLURM job: several tasks per pair join one torch process group."""
    import os

    import submitit

    if int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        submitit.helpers.TorchDistributedEnvironment().export()
    return run_pair(pair, store_url, sizes=sizes, device=device, progress=False, store_retry_s=store_retry_s)


def _slurm(pairs: list[Pair], store_url: str, options: LaunchOptions, report) -> list[Outcome]:
    try:
        import submitit
    except ImportError as exc:
        raise UsageError("the slurm launcher needs submitit", hint='pip install "echodsl[slurm]"') from exc
    folder = options.slurm_folder or Path("runs") / "slurm"
    if options.slurm_executor == "local":
        executor = submitit.LocalExecutor(folder=str(folder))
    else:
        executor = submitit.AutoExecutor(folder=str(folder))
        executor.update_parameters(gpus_per_node=options.gpus_per_run, tasks_per_node=options.gpus_per_run,
                                   nodes=1, timeout_min=24 * 60)
    jobs = [executor.submit(_slurm_entry, pair, store_url, options.sizes, options.device, options.store_retry_s)
            for pair in pairs]
    outcomes = []
    for job in jobs:
        try:
            outcome = job.result()
        except Exception as exc:  # noqa: BLE001 - one failed job must not hide the others
            outcome = Outcome(pairs[jobs.index(job)], "failed", error=f"{type(exc).__name__}: {exc}")
        report(outcome)
        outcomes.append(outcome)
    return outcomes
