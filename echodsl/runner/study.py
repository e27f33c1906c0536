"""``echodsl study`` as one library call: plan the pairs, show or run them, compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from echodsl.errors import UsageError
from echodsl.lang.api import load
from echodsl.runner.launch import LaunchOptions, run_pairs
from echodsl.runner.plan import Pair, plan_study
from echodsl.runner.worker import Outcome, pretrain_shared
from echodsl.store.engine import is_in_memory
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


@dataclass
class StudyResult:
    store: str
    pairs: list[Pair]
    status: dict[Pair, str]  # dry run: what would happen; else: what happened
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def store_url(request: StudyRequest) -> str:
    """The store's URL by the one naming rule (a path, a relative or absolute SQLite URL, a
    server URL); default ``echodsl.db`` beside the spec. A SQLite file need not exist yet."""
    return name_store(request.store or request.spec.resolve().parent / "echodsl.db").url


def planned_status(pairs: list[Pair], url: str, retry_s: float = DEFAULT_RETRY_S) -> dict[Pair, str]:
    """What running each pair would do now: skip (finished), resume, or start."""
    from echodsl.runtime.checkpoint import list_checkpoints

    if not name_store(url).exists:  # no store yet: the first pair to run creates it
        return {p: "resume" if list_checkpoints(p.run_dir / "checkpoints") else "new" for p in pairs}
    # A study that starts while its store is down waits for it (saying so once).
    return RetryPolicy(retry_s).call(lambda: _planned_status(pairs, url))


def _planned_status(pairs: list[Pair], url: str) -> dict[Pair, str]:
    from echodsl.compiler import build_hash
    from echodsl.runtime.checkpoint import list_checkpoints
    from echodsl.store import RunIdentity, Store

    out = {}
    with Store.open(url, create=False) as store:
        for p in pairs:
            identity = RunIdentity(p.spec_hash, p.setup_hash, build_hash(), p.seed)
            if store.find_run(identity, statuses=("finished",)):
                out[p] = "done"
            elif store.resumable(identity) or list_checkpoints(p.run_dir / "checkpoints"):
                out[p] = "resume"
            else:
                out[p] = "new"
    return out


def run_study(request: StudyRequest, report: Callable[[Outcome], None] = lambda o: None) -> StudyResult:
    url = store_url(request)
    if is_in_memory(url):
        raise UsageError(f"{url!r} is an in-memory database: a study's results would vanish with the process "
                         "(and workers could not share it)", hint="pass --store with a file path or a server URL")
    doc = load(request.spec)
    pairs = plan_study(doc, request.spec, request.study, request.runs_dir, request.steps)
    status = planned_status(pairs, url, request.launch.store_retry_s)
    if request.dry_run:
        return StudyResult(url, pairs, status)
    if request.launch.launcher == "local":  # SLURM jobs pretrain on their nodes (locked, once)
        pretrain_shared(pairs)
    outcomes = run_pairs(pairs, url, request.launch, report)
    return StudyResult(url, pairs, {o.pair: o.status for o in outcomes}, outcomes)
