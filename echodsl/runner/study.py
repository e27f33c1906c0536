"""``echodsl study`` as one library call: plan -> claim -> train -> evaluate -> record ->
compare -> report.

:func:`run_study` plans the study's pairs (:mod:`.plan`), runs each through its launcher
(:mod:`.launch`), where :func:`~echodsl.runner.worker.run_pair` claims it in the store
(:mod:`.claim`), trains it, evaluates it and records it (:mod:`.record`), then compares the
designs (:mod:`.compare`) and writes the study's report (:mod:`.study_report`). It prints
nothing: the caller shows the :class:`StudyResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from echodsl.errors import UsageError
from echodsl.lang.api import load
from echodsl.runner.compare import compare_study, study_confounds
from echodsl.runner.launch import LaunchOptions, run_pairs
from echodsl.runner.outcome import Outcome
from echodsl.runner.plan import Pair, plan_study
from echodsl.runner.study_report import write_study_report
from echodsl.runner.worker import pretrain_shared
from echodsl.store.confounds import Confound
from echodsl.store.naming import is_in_memory
from echodsl.store.export import Table
from echodsl.store.naming import name_store
from echodsl.store.resilience import DEFAULT_RETRY_S, RetryPolicy


@dataclass(frozen=True)
class StudyRequest:
    spec: Path
    study: str
    store: str | None = None  # default: echodsl.db beside the spec
    runs_dir: Path | None = None
    steps: int | None = None
    dry_run: bool = False
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    strict: bool = False  # refuse, before training anything, a study whose designs are confounded


@dataclass
class StudyResult:
    store: str
    pairs: list[Pair]
    status: dict[Pair, str]  # dry run (or refused): what would happen; else: what happened
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    confounds: list[Confound] = field(default_factory=list)  # what besides the memory differs between designs
    refused: bool = False  # strict and confounded: nothing was run
    comparison: Table | None = None  # the store's comparison of the study's finished runs
    report: Path | None = None  # the study's HTML report
    report_error: str | None = None  # why the report was not written (the results are in the store)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def run_study(request: StudyRequest, report: Callable[[Outcome], None] = lambda o: None) -> StudyResult:
    """Run (or, with ``dry_run``, only plan) the requested study; ``report`` hears of each
    pair's outcome as it arrives."""
    url = store_url(request)
    pairs = plan(request, url)
    status = planned_status(pairs, url, request.launch.store_retry_s)
    confounds = study_confounds(pairs)
    if request.dry_run or (request.strict and confounds):
        return StudyResult(url, pairs, status, dry_run=request.dry_run, confounds=confounds,
                           refused=not request.dry_run)
    outcomes = run(pairs, url, request.launch, report)
    result = StudyResult(url, pairs, {o.pair: o.status for o in outcomes}, outcomes, confounds=confounds)
    result.comparison = compare_study(url, pairs, outcomes)
    result.report, result.report_error = write_study_report(url, pairs, outcomes)
    return result


def store_url(request: StudyRequest) -> str:
    """The store's URL by the one naming rule (a path, a relative or absolute SQLite URL, a
    server URL); default ``echodsl.db`` beside the spec. A SQLite file need not exist yet."""
    return name_store(request.store or request.spec.resolve().parent / "echodsl.db").url


def plan(request: StudyRequest, url: str) -> list[Pair]:
    """The study's pairs, in study order, for a store that outlives this process."""
    if is_in_memory(url):
        raise UsageError(f"{url!r} is an in-memory database: a study's results would vanish with the process "
                         "(and workers could not share it)", hint="pass --store with a file path or a server URL")
    return plan_study(load(request.spec), request.spec, request.study, request.runs_dir, request.steps)


def run(pairs: list[Pair], url: str, launch: LaunchOptions, report: Callable[[Outcome], None]) -> list[Outcome]:
    """Claim, train, evaluate and record every pair (see :func:`~echodsl.runner.worker.run_pair`)."""
    if launch.launcher == "local":  # SLURM jobs pretrain on their nodes (locked, once)
        pretrain_shared(pairs)
    return run_pairs(pairs, url, launch, report)


def planned_status(pairs: list[Pair], url: str, retry_s: float = DEFAULT_RETRY_S) -> dict[Pair, str]:
    """What running each pair would do now: skip (finished), resume, or start."""
    from echodsl.runtime.checkpoint import list_checkpoints

    if not name_store(url).exists:  # no store yet: the first pair to run creates it
        return {p: "resume" if list_checkpoints(p.run_dir / "checkpoints") else "new" for p in pairs}
    # A study that starts while its store is down waits for it (saying so once).
    return RetryPolicy(retry_s).call(lambda: _planned_status(pairs, url))


def _planned_status(pairs: list[Pair], url: str) -> dict[Pair, str]:
    from echodsl.runtime.checkpoint import list_checkpoints
    from echodsl.store import Store

    out = {}
    with Store.open(url, create=False) as store:
        for p in pairs:
            identity = p.identity
            if store.find_run(identity, statuses=("finished",)):
                out[p] = "done"
            elif store.resumable(identity) or list_checkpoints(p.run_dir / "checkpoints"):
                out[p] = "resume"
            else:
                out[p] = "new"
    return out
