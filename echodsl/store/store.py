"""The results store's public API: record designs, run lifecycles, metrics, cases, artifacts.

A study runner uses it like this::

    store = Store.open("echodsl.db")          # or a SQLAlchemy URL; migrates if needed
    store.record_setup(study)
    store.record_spec(profile, source_text)
    identity = RunIdentity(profile.spec_hash, study.setup_hash, build_hash, seed)
    claim = store.claim_run(RunInfo(identity, profile.name, study.name, collect_provenance(device)))
    if claim.action in ("done", "busy"):
        ...                                   # finished already, or another process trains it
    run_id = claim.run.run_id                 # "new", or "resumed": continue from claim.checkpoint
    store.heartbeat(run_id, steps=..., owner=claim.run.owner)  # at least every stale_after_s / 2 s
    store.log_artifact(run_id, ckpt_path, kind="checkpoint")   # after each checkpoint save
    store.log_metrics(run_id, [MetricValue("replay", "psnr", 12.5), ...])
    store.log_case(run_id, "return_open", r.case_id, {**subscores, "overall": r.overall},
                   judge=r.judge, judge_version=r.version, raw_response=r.raw,
                   status=r.status, error=r.error)
    store.finish_run(run_id, "finished", steps=..., step_time_s=..., device_hours=...)

Each method is one short transaction, so any number of processes can write to one store.
:meth:`Store.claim_run` is how concurrent runners agree: it locks the identity's one row in
``run_claims``, so of any number of processes (on one machine or many sharing a server)
exactly one trains each identity; a claim whose owner is dead (its heartbeat expired, or
its process is gone from this host) is taken over, keeping the same run row.
A ``running`` run whose heartbeat is older than ``stale_after_s`` reads as
``interrupted`` in every query; :meth:`Store.mark_interrupted` also writes that down.
Open a ``Store`` in each process (after a fork, not before).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import and_, case, delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from echodsl.errors import StoreError
from typing import TYPE_CHECKING
from echodsl.store import records as rec
from echodsl.store import writes
from echodsl.store.engine import inspect_sqlite_file, make_engine, reading, resolve_url, sqlite_path
from echodsl.store.migrate import check_at_head, upgrade
from echodsl.store.owner import owner_is_dead, process_owner
from echodsl.store.resilience import StoreUnavailable, is_transient
from echodsl.store.schema import (STATUSES, SqlArtifact, SqlCaseResult, SqlLatestMetric, SqlMetric,
                                  SqlMetricDefinition, SqlRun, SqlRunClaim, SqlSetup, SqlSpec, now_ms)

if TYPE_CHECKING:  # the language layer is imported only where a design is recorded
    from echodsl.lang.model import Profile, Study

DEFAULT_STALE_AFTER_S = 120.0
_PREFERENCE = ("finished", "running", "interrupted", "failed")  # find_run's choice among matches


class Store:
    """A results database. Create with :meth:`Store.open`; close (or use ``with``) when done."""

    def __init__(self, engine, *, stale_after_s: float = DEFAULT_STALE_AFTER_S):
        assert stale_after_s > 0, stale_after_s
        self.engine = engine
        self.stale_after_s = stale_after_s

    @classmethod
    def open(cls, url_or_path: str | os.PathLike, *, stale_after_s: float = DEFAULT_STALE_AFTER_S,
             create: bool = True, read_only: bool | None = None) -> "Store":
        """Open (creating or upgrading) the store at a path (SQLite file) or SQLAlchemy URL.
        With ``create=False`` a SQLite file that does not exist is an error, not a new store.

        A SQLite file is looked at read-only first: one that is not SQLite, or a SQLite
        database that is not an echodsl store, is refused untouched (never switched to WAL);
        an empty (0-byte) file becomes a new store, with a warning saying so. A file on
        read-only media or without write permission (or ``read_only=True``) is opened
        read-only: queries work, writes fail, nothing is migrated."""
        url = resolve_url(url_or_path)
        path = sqlite_path(url)
        if not create and path is not None and not path.exists():
            raise StoreError(f"{path}: no results store here")
        if path is not None and path.exists():
            read_only = inspect_sqlite_file(path, read_only)
        engine = make_engine(url, read_only=bool(read_only and path is not None))
        if engine.dialect.name not in writes.SUPPORTED_DIALECTS:
            engine.dispose()
            raise StoreError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")
        try:
            if read_only and path is not None:
                check_at_head(engine)
            else:
                upgrade(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise _error(exc)(f"cannot open {_where(engine)}: {_reason(exc)}") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, stale_after_s=stale_after_s)

    @property
    def url(self) -> str:
        return _where(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- designs and setups ------------------------------------------------------------

    def record_spec(self, profile: Profile, source_text: str | None = None) -> str:
        """Record a resolved design once per spec_hash (the first name and source win)."""
        from echodsl.lang.model import canonical_json

        row = {"spec_hash": profile.spec_hash, "profile": profile.name,
               "canonical_json": canonical_json(profile.canonical()), "source_text": source_text,
               "created_ms": now_ms()}
        with self._write() as s:
            s.execute(writes.insert(s, SqlSpec).values(**row).on_conflict_do_nothing())
        return profile.spec_hash

    def record_setup(self, study: Study) -> str:
        """Record a study's setup once per setup_hash."""
        from echodsl.lang.model import canonical_json

        row = {"setup_hash": study.setup_hash, "study": study.name,
               "canonical_json": canonical_json(study.setup()), "created_ms": now_ms()}
        with self._write() as s:
            s.execute(writes.insert(s, SqlSetup).values(**row).on_conflict_do_nothing())
        return study.setup_hash

    def spec(self, spec_hash: str) -> rec.SpecRecord:
        with self._read() as s:
            row = s.get(SqlSpec, spec_hash)
            if row is None:
                raise StoreError(f"no spec {spec_hash[:12]} in {self.url}")
            return rec.spec_from_sql(row)

    def specs(self) -> dict[str, rec.SpecRecord]:
        with self._read() as s:
            return {r.spec_hash: rec.spec_from_sql(r) for r in s.scalars(select(SqlSpec))}

    def setups(self) -> dict[str, rec.SetupRecord]:
        with self._read() as s:
            return {r.setup_hash: rec.setup_from_sql(r) for r in s.scalars(select(SqlSetup))}

    # --- run lifecycle -----------------------------------------------------------------

    def start_run(self, info: rec.RunInfo, *, owner: str | None = None) -> int:
        """Open a ``running`` run owned by this process (or ``owner``); its spec and setup
        must have been recorded. Returns run_id. Runners use :meth:`claim_run` instead,
        which never opens a second run for one identity."""
        ident, prov = info.identity, info.provenance
        stamp = now_ms()
        row = SqlRun(spec_hash=ident.spec_hash, setup_hash=ident.setup_hash, build_hash=ident.build_hash,
                     seed=ident.seed, profile=info.profile, study=info.study, status="running",
                     started_ms=stamp, heartbeat_ms=stamp, git_commit=prov.git_commit, git_dirty=prov.git_dirty,
                     versions_json=json.dumps(prov.versions, sort_keys=True), device=prov.device, host=prov.host,
                     compile_mode=info.compile_mode, owner=owner or process_owner())
        with self._write() as s:
            _check_recorded(s, ident)
            s.add(row)
            s.flush()
            return row.run_id

    def claim_run(self, info: rec.RunInfo, *, owner: str | None = None) -> rec.Claim:
        """Decide, atomically, what this process does about ``info.identity`` (see
        :class:`~echodsl.store.records.Claim`): one transaction holding the identity's claim
        row locked, so two processes never both get "new" or "resumed" for one identity.

        Taking over keeps the run row and its checkpoints but drops the metrics and cases
        it had logged: the new owner logs them again, so nothing is counted twice."""
        owner = owner or process_owner()
        ident = info.identity
        key = {"spec_hash": ident.spec_hash, "setup_hash": ident.setup_hash, "build_hash": ident.build_hash,
               "seed": ident.seed}
        with self._write() as s:
            _check_recorded(s, ident)
            s.execute(writes.insert(s, SqlRunClaim).values(**key, run_id=None, claimed_ms=now_ms())
                      .on_conflict_do_nothing())
            claim = s.scalars(select(SqlRunClaim).filter_by(**key).with_for_update()).one()
            rows = list(s.scalars(select(SqlRun).filter_by(**key).order_by(SqlRun.run_id.desc())))
            stale = self._stale_before()
            done = [r for r in rows if r.status == "finished"]
            if done:
                return rec.Claim("done", rec.run_from_sql(done[0], stale))
            live = [r for r in rows if r.status == "running" and r.heartbeat_ms >= stale
                    and r.owner != owner and not owner_is_dead(r.owner)]
            if live:
                return rec.Claim("busy", rec.run_from_sql(live[0], stale), previous_owner=live[0].owner)
            stamp = now_ms()
            chosen = next((r for r in rows if r.run_id == claim.run_id), None) \
                or next((r for r in rows if self._has_checkpoint(s, r.run_id)), None) \
                or (rows[0] if rows else None)
            for other in rows:  # older duplicates (stores written before claims): close them
                if other is not chosen and other.status == "running":
                    other.status, other.ended_ms = "interrupted", other.heartbeat_ms
            claim.claimed_ms = stamp
            if chosen is None:
                prov = info.provenance
                chosen = SqlRun(**key, profile=info.profile, study=info.study, status="running", started_ms=stamp,
                                heartbeat_ms=stamp, git_commit=prov.git_commit, git_dirty=prov.git_dirty,
                                versions_json=json.dumps(prov.versions, sort_keys=True), device=prov.device,
                                host=prov.host, compile_mode=info.compile_mode, owner=owner)
                s.add(chosen)
                s.flush()
                claim.run_id = chosen.run_id
                return rec.Claim("new", rec.run_from_sql(chosen, stale))
            previous = chosen.owner
            for table in (SqlMetric, SqlLatestMetric, SqlCaseResult, SqlMetricDefinition):
                s.execute(delete(table).where(table.run_id == chosen.run_id))
            chosen.status, chosen.heartbeat_ms, chosen.ended_ms, chosen.error = "running", stamp, None, None
            chosen.owner, chosen.host = owner, info.provenance.host
            claim.run_id = chosen.run_id
            s.flush()
            ckpts = s.scalars(select(SqlArtifact).where(SqlArtifact.run_id == chosen.run_id,
                                                         SqlArtifact.kind == "checkpoint")).all()
            newest = max(ckpts, key=lambda a: (a.timestamp_ms, a.path)) if ckpts else None
            return rec.Claim("resumed", rec.run_from_sql(chosen, stale),
                             rec.artifact_from_sql(newest) if newest else None, previous)

    @staticmethod
    def _has_checkpoint(s: Session, run_id: int) -> bool:
        query = select(SqlArtifact.id).where(SqlArtifact.run_id == run_id, SqlArtifact.kind == "checkpoint")
        return s.scalars(query.limit(1)).first() is not None

    def heartbeat(self, run_id: int, *, steps: int | None = None, owner: str | None = None) -> None:
        """Say the run is alive (and how many steps it has done). Raises if the run is no
        longer ``running`` (finished, or marked interrupted), or, given ``owner``, if another
        process has taken it over."""
        with self._write() as s:
            row = self._get_run(s, run_id)
            if row.status != "running":
                raise StoreError(f"run {run_id} is {row.status}, not running; another process may have resumed it")
            _check_owner(row, owner)
            row.heartbeat_ms = now_ms()
            if steps is not None:
                row.steps = steps

    def finish_run(self, run_id: int, status: str = "finished", *, steps: int | None = None,
                   step_time_s: float | None = None, device_hours: float | None = None,
                   error: str | None = None, owner: str | None = None) -> None:
        """End a run as finished, failed or interrupted, with its timings. Given ``owner``,
        refuses if another process has taken the run over (its result is not ours)."""
        if status not in STATUSES or status == "running":
            raise StoreError(f"a run ends as finished, failed or interrupted, not {status!r}")
        with self._write() as s:
            row = self._get_run(s, run_id)
            _check_owner(row, owner)
            row.status, row.ended_ms, row.error = status, now_ms(), error
            row.heartbeat_ms = row.ended_ms
            for name, value in (("steps", steps), ("step_time_s", step_time_s), ("device_hours", device_hours)):
                if value is not None:
                    setattr(row, name, value)

    def resume_run(self, run_id: int) -> rec.Run:
        """Take over an interrupted or failed run (atomically: one process wins)."""
        with self._write() as s:
            row = s.scalars(select(SqlRun).where(SqlRun.run_id == run_id).with_for_update()).one_or_none()
            if row is None:
                raise StoreError(f"no run {run_id} in {self.url}")
            status = rec.run_from_sql(row, self._stale_before()).status
            if status not in ("interrupted", "failed"):
                raise StoreError(f"run {run_id} is {status}; only interrupted or failed runs can be resumed")
            row.status, row.heartbeat_ms, row.ended_ms, row.error = "running", now_ms(), None, None
            s.flush()
            return rec.run_from_sql(row, self._stale_before())

    def mark_interrupted(self) -> list[int]:
        """Write ``interrupted`` into every running run with a stale heartbeat; their ids."""
        stale = and_(SqlRun.status == "running", SqlRun.heartbeat_ms < self._stale_before())
        with self._write() as s:
            ids = list(s.scalars(select(SqlRun.run_id).where(stale).order_by(SqlRun.run_id)))
            if ids:
                s.execute(update(SqlRun).where(SqlRun.run_id.in_(ids))
                          .values(status="interrupted", ended_ms=SqlRun.heartbeat_ms))
            return ids

    # --- results -----------------------------------------------------------------------

    def log_metric(self, run_id: int, branch: str, name: str, value: float, *,
                   step: int | None = None, chunk: int | None = None) -> None:
        self.log_metrics(run_id, [writes.MetricValue(branch, name, value, step, chunk)])

    def log_metrics(self, run_id: int, values: Iterable[writes.MetricValue], *,
                    timestamp_ms: int | None = None) -> None:
        """Log several values in one transaction (all or none). Given ``timestamp_ms``, the
        batch is written at most once: a retry after a commit whose answer was lost (the
        connection dropped) finds it already there and writes nothing."""
        values = list(values)
        with self._write() as s:
            writes.write_metrics(s, run_id, values, stamp=timestamp_ms)

    def log_case(self, run_id: int, branch: str, case_id: str, scores: dict[str, float | None], *,
                 judge: str, judge_version: str, raw_response: str | None = None, status: str = "ok",
                 error: str | None = None) -> None:
        """Record one judged case; ``scores`` holds the subscores and ``"overall"``.
        Logging the same (branch, case_id, judge) again replaces it."""
        with self._write() as s:
            writes.write_case(s, run_id, branch, case_id, scores, judge=judge, judge_version=judge_version,
                              raw_response=raw_response, status=status, error=error)

    def log_artifact(self, run_id: int, path: str | os.PathLike, *, kind: str = "file") -> rec.Artifact:
        """Record a file with its sha256 (kind "checkpoint" makes the run resumable)."""
        return self.log_artifact_row(writes.artifact_row(run_id, path, kind))

    def log_artifact_row(self, row: dict) -> rec.Artifact:
        """Record an artifact hashed earlier by :func:`~echodsl.store.writes.artifact_row`
        (how a record kept through a store outage arrives; a second log replaces the first)."""
        with self._write() as s:
            writes.write_artifact(s, row)
        return rec.Artifact(**row)

    # --- queries -----------------------------------------------------------------------

    def run(self, run_id: int) -> rec.Run:
        with self._read() as s:
            return rec.run_from_sql(self._get_run(s, run_id), self._stale_before())

    def runs(self, study: str | None = None, status: str | None = None, *,
             setup_hash: str | None = None) -> list[rec.Run]:
        """Runs in start order, filtered by study, effective status and setup."""
        query = select(SqlRun).order_by(SqlRun.run_id)
        if study is not None:
            query = query.where(SqlRun.study == study)
        if setup_hash is not None:
            query = query.where(SqlRun.setup_hash == setup_hash)
        if status is not None:
            if status not in STATUSES:
                raise StoreError(f"unknown status {status!r} (known: {', '.join(STATUSES)})")
            query = query.where(self._effective_status() == status)
        with self._read() as s:
            stale = self._stale_before()
            return [rec.run_from_sql(r, stale) for r in s.scalars(query)]

    def find_run(self, identity: rec.RunIdentity, *, statuses: Iterable[str] = _PREFERENCE) -> rec.Run | None:
        """The run with this identity, preferring the given statuses in order, newest first."""
        statuses = tuple(statuses)
        query = select(SqlRun).where(SqlRun.spec_hash == identity.spec_hash,
                                     SqlRun.setup_hash == identity.setup_hash,
                                     SqlRun.build_hash == identity.build_hash, SqlRun.seed == identity.seed)
        with self._read() as s:
            stale = self._stale_before()
            found = [rec.run_from_sql(r, stale) for r in s.scalars(query.order_by(SqlRun.run_id.desc()))]
        for status in statuses:
            for run in found:
                if run.status == status:
                    return run
        return None

    def resumable(self, identity: rec.RunIdentity) -> tuple[rec.Run, rec.Artifact] | None:
        """The newest interrupted or failed run of this identity that logged a checkpoint,
        with its latest checkpoint; None if there is none (start a new run)."""
        for status in ("interrupted", "failed"):
            run = self.find_run(identity, statuses=(status,))
            if run is not None:
                checkpoint = self.checkpoint(run.run_id)
                if checkpoint is not None:
                    return run, checkpoint
        return None

    def checkpoint(self, run_id: int) -> rec.Artifact | None:
        ckpts = [a for a in self.artifacts(run_id) if a.kind == "checkpoint"]
        return max(ckpts, key=lambda a: (a.timestamp_ms, a.path)) if ckpts else None

    def metrics(self, run_id: int, *, branch: str | None = None, name: str | None = None) -> list[rec.Metric]:
        """Every value the run logged, in logging order."""
        query = select(SqlMetric).where(SqlMetric.run_id == run_id).order_by(SqlMetric.id)
        if branch is not None:
            query = query.where(SqlMetric.branch == branch)
        if name is not None:
            query = query.where(SqlMetric.key == name)
        with self._read() as s:
            return [rec.metric_from_sql(r) for r in s.scalars(query)]

    def latest_metrics(self, run_ids: Iterable[int] | None = None) -> list[rec.Metric]:
        """The current value of each (run, branch, name, chunk); ``chunk`` None = run-level."""
        query = select(SqlLatestMetric).order_by(SqlLatestMetric.run_id, SqlLatestMetric.branch,
                                                  SqlLatestMetric.key, SqlLatestMetric.chunk)
        if run_ids is not None:
            query = query.where(SqlLatestMetric.run_id.in_(list(run_ids)))
        with self._read() as s:
            return [rec.metric_from_sql(r) for r in s.scalars(query)]

    def cases(self, run_id: int, *, branch: str | None = None) -> list[rec.CaseResult]:
        query = select(SqlCaseResult).where(SqlCaseResult.run_id == run_id).order_by(SqlCaseResult.id)
        if branch is not None:
            query = query.where(SqlCaseResult.branch == branch)
        with self._read() as s:
            return [rec.case_from_sql(r) for r in s.scalars(query)]

    def artifacts(self, run_id: int) -> list[rec.Artifact]:
        query = select(SqlArtifact).where(SqlArtifact.run_id == run_id).order_by(SqlArtifact.id)
        with self._read() as s:
            return [rec.artifact_from_sql(r) for r in s.scalars(query)]

    # --- plumbing ----------------------------------------------------------------------

    def _stale_before(self) -> int:
        return now_ms() - int(self.stale_after_s * 1000)

    def _effective_status(self):
        stale = and_(SqlRun.status == "running", SqlRun.heartbeat_ms < self._stale_before())
        return case((stale, "interrupted"), else_=SqlRun.status)

    def _get_run(self, s: Session, run_id: int) -> SqlRun:
        row = s.get(SqlRun, run_id)
        if row is None:
            raise StoreError(f"no run {run_id} in {self.url}")
        return row

    @contextmanager
    def _write(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                yield s
        except IntegrityError as exc:
            raise StoreError(f"{self.url}: rejected write ({_reason(exc)}); is the run id right?") from None
        except OperationalError as exc:
            if "readonly" in str(exc).replace("-", "").replace(" ", "").lower():
                raise StoreError(f"{self.url} is read-only here: it can be queried but not written") from None
            raise _error(exc)(f"{self.url}: {_reason(exc)}") from None
        except SQLAlchemyError as exc:
            raise _error(exc)(f"{self.url}: {_reason(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with self.engine.connect() as conn, Session(bind=reading(conn)) as s:
                yield s
        except SQLAlchemyError as exc:
            raise _error(exc)(f"{self.url}: {_reason(exc)}") from None


def _check_recorded(s: Session, ident: rec.RunIdentity) -> None:
    if s.get(SqlSpec, ident.spec_hash) is None:
        raise StoreError(f"spec {ident.spec_hash[:12]} is not recorded: call record_spec first")
    if s.get(SqlSetup, ident.setup_hash) is None:
        raise StoreError(f"setup {ident.setup_hash[:12]} is not recorded: call record_setup first")


def _check_owner(row: SqlRun, owner: str | None) -> None:
    if owner is not None and row.owner is not None and row.owner != owner:
        raise StoreError(f"run {row.run_id} was taken over by {row.owner}; this process no longer owns it")


def _where(engine) -> str:
    return getattr(engine, "echodsl_where", None) or engine.url.render_as_string(hide_password=True)


def _error(exc: SQLAlchemyError) -> type[StoreError]:
    """:class:`StoreUnavailable` for a failure that may pass (refused, reset, locked), so
    that callers with a retry window wait for it; plain :class:`StoreError` otherwise."""
    return StoreUnavailable if is_transient(exc) else StoreError


def _reason(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]
