"""A running pair's store writes, delivered in order by one thread that rides out outages.

Training never waits on the store: heartbeats, checkpoint and frame records, metrics,
judged cases and the final status are queued here and written in the order they were
made. While the store is unavailable (see :mod:`echodsl.store.resilience`) the head of the
queue is retried with backoff and the rest waits behind it; when the store returns each
write arrives exactly once (artifacts and cases are upserts; a metric batch carries its
timestamp, so a batch whose commit did land before the connection dropped is not written
again). Past the retry window :attr:`Outbox.failure` is set and delivery stops; the
artifact records not yet written are kept in ``<run_dir>/store-pending.jsonl``
(:meth:`Outbox.keep`), which :func:`deliver_kept` writes when the pair runs again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from echodsl.errors import StoreError
from echodsl.store import writes
from echodsl.store.definitions import StoredDefinition, record_definitions
from echodsl.store.resilience import Outage, RetryPolicy, StoreUnavailable
from echodsl.store.schema import now_ms

if TYPE_CHECKING:
    from echodsl.store.store import Store

PENDING_FILE = "store-pending.jsonl"


@dataclass
class _Write:
    what: str  # for messages: "checkpoint record", "metrics", ...
    apply: Callable[["Store"], None]
    artifact: dict[str, Any] | None = None  # an artifact row: kept on disk if never delivered
    best_effort: bool = False  # a heartbeat: a refusal (run taken over) is dropped, as a missed beat


class Outbox:
    """The ordered queue of one run's writes and the thread that delivers them.

    ``failure`` turns non-None when the store stayed unreachable past the window
    (:class:`~echodsl.store.resilience.StoreUnreachable`) or refused a write outright;
    the caller polls it (e.g. as a trainer's stop condition) and calls :meth:`drain` to
    wait for everything queued to arrive.
    """

    def __init__(self, store: "Store", run_id: int, policy: RetryPolicy):
        self.store, self.run_id, self.policy = store, run_id, policy
        self.failure: StoreError | None = None
        self._queue: deque[_Write] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._beat_steps: int | None = None
        self._beat_queued = False
        self._last_stamp = 0
        self._thread = threading.Thread(target=self._deliver, name="echodsl-store-outbox", daemon=True)
        self._thread.start()

    # --- what a running pair writes -----------------------------------------------------

    def log_artifact(self, path: str | os.PathLike, *, kind: str = "file") -> None:
        """Hash the file now (it may be pruned before the store returns) and queue its record."""
        row = writes.artifact_row(self.run_id, path, kind)
        self._put(_Write(f"{kind} record", lambda s: s.log_artifact_row(row), artifact=row))

    def log_metrics(self, values: Iterable[writes.MetricValue]) -> None:
        values = list(values)
        for m in values:  # a bad value is the caller's bug: say so now, not from the thread
            writes.check_metric(m)
        stamp = self._stamp()
        self._put(_Write("metrics", lambda s: s.log_metrics(self.run_id, values, timestamp_ms=stamp)))

    def log_case(self, branch: str, case_id: str, scores: dict[str, float | None], **kwargs: Any) -> None:
        self._put(_Write("case result", lambda s: s.log_case(self.run_id, branch, case_id, scores, **kwargs)))

    def record_definitions(self, definitions: Iterable[StoredDefinition]) -> None:
        """Queue the definitions of this run's metrics (a replace, so a retry writes them once)."""
        definitions = list(definitions)
        self._put(_Write("metric definitions", lambda s: record_definitions(s, self.run_id, definitions)))

    def finish_run(self, status: str = "finished", **kwargs: Any) -> None:
        self._put(_Write(f"{status} status", lambda s: s.finish_run(self.run_id, status, **kwargs)))

    def heartbeat(self, *, steps: int | None = None, owner: str | None = None) -> None:
        """Queue a beat, unless one is still waiting (it will carry these ``steps``)."""
        with self._cond:
            self._beat_steps = steps
            if self._beat_queued:
                return
            self._beat_queued = True

        def beat(s: "Store") -> None:
            with self._cond:
                self._beat_queued, steps_now = False, self._beat_steps
            s.heartbeat(self.run_id, steps=steps_now, owner=owner)

        self._put(_Write("heartbeat", beat, best_effort=True))

    # --- waiting, stopping, keeping -------------------------------------------------------

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued write has arrived (or ``timeout`` seconds pass: then
        False); raises :attr:`failure` if one cannot arrive."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue and self.failure is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.5 if left is None else min(0.5, left))
        self.raise_if_failed()
        return True

    def raise_if_failed(self) -> None:
        if self.failure is not None:
            raise self.failure

    def close(self, timeout: float = 5.0) -> None:
        """Stop delivering (what is queued stays queued: see :meth:`keep`)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=timeout)

    def keep(self, run_dir: Path) -> int:
        """Append the artifact records not delivered to ``run_dir``'s pending file (for
        :func:`deliver_kept` on the next run of the pair); returns how many."""
        with self._cond:
            rows = [w.artifact for w in self._queue if w.artifact is not None]
        if rows:
            run_dir.mkdir(parents=True, exist_ok=True)
            with (run_dir / PENDING_FILE).open("a", encoding="utf-8") as f:
                f.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)
        return len(rows)

    # --- the delivery thread ----------------------------------------------------------------

    def _stamp(self) -> int:
        # Strictly increasing per run: a metric batch's identity when it is retried.
        self._last_stamp = max(now_ms(), self._last_stamp + 1)
        return self._last_stamp

    def _put(self, write: _Write) -> None:
        with self._cond:
            self._queue.append(write)
            self._cond.notify_all()

    def _deliver(self) -> None:
        outage = Outage(self.policy)
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed or self.failure is not None:
                    return
                write = self._queue[0]
            try:
                write.apply(self.store)
            except StoreUnavailable as exc:
                try:
                    outage.failed(exc)
                except StoreError as past_window:
                    self._fail(past_window)
                    return
                with self._cond:
                    self._cond.wait(outage.pause())  # close() wakes it
                continue
            except StoreError as exc:
                if not write.best_effort:
                    self._fail(exc)
                    return
            except Exception as exc:  # noqa: BLE001 - anything else ends delivery, reported by drain()
                self._fail(StoreError(f"{self.store.url}: writing a {write.what} failed: {type(exc).__name__}: {exc}"))
                return
            outage.over()
            with self._cond:
                self._queue.popleft()
                self._cond.notify_all()

    def _fail(self, exc: StoreError) -> None:
        with self._cond:
            self.failure = exc
            self._cond.notify_all()


def deliver_kept(store: "Store", run_dir: Path, policy: RetryPolicy) -> int:
    """Write the artifact records an earlier run of this pair kept through an outage
    (each an upsert: delivering one twice changes nothing), then drop the file."""
    path = run_dir / PENDING_FILE
    if not path.exists():
        return 0
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        policy.call(lambda: store.log_artifact_row(row))
    path.unlink()
    return len(rows)
