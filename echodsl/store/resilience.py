"""Riding out a store that blinks: which failures may pass, and retrying within a window.

A PostgreSQL server restarts (maintenance, a managed database failing over, a network
hiccup), a SQLite file stays locked by another process past the busy timeout: such
failures are *transient* and worth waiting for. Retries back off from a fraction of a
second to a few seconds and give up once the store has been unreachable for the whole
window (``DEFAULT_RETRY_S``, settable per study). Everything else (authentication, a
missing database, a schema at another migration, a read-only store, a rejected row)
fails at once, as without the window.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from echodsl.errors import StoreError

DEFAULT_RETRY_S = 300.0
T = TypeVar("T")

# Fragments of driver messages (libpq/psycopg, sqlite3) that mean "the store is not there
# right now" rather than "the request is wrong". Compared lower-cased.
_TRANSIENT = (
    "connection refused", "connection reset", "server closed the connection", "terminating connection",
    "database system is shutting down", "database system is starting up", "database system is in recovery",
    "not yet accepting connections", "is the server running", "connection timed out", "timeout expired",
    "network is unreachable", "no route to host", "broken pipe", "connection is closed", "connection not open",
    "connection is lost", "consuming input failed", "could not receive data", "could not send data",
    "ssl syscall error", "eof detected", "database is locked", "database table is locked", "database is busy",
)
# Never transient even when a transient fragment shows up in the same message.
_PERMANENT = ("authentication failed", "does not exist", "permission denied", "read-only", "readonly",
              "no pg_hba.conf entry")


class StoreUnavailable(StoreError):
    """The store could not be reached, or stayed locked: a failure that may pass on its own."""


class StoreUnreachable(StoreError):
    """The store stayed unavailable for the whole retry window."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy, driver or sqlite3 error) is a connection-level
    failure worth retrying: refused, reset, closed by the server, or SQLite busy/locked."""
    if isinstance(exc, StoreUnavailable):
        return True
    text = f"{exc} {getattr(exc, 'orig', '') or ''}".lower()
    if any(p in text for p in _PERMANENT):
        return False
    if getattr(exc, "connection_invalidated", False):  # SQLAlchemy recognised a dropped connection
        return True
    return any(t in text for t in _TRANSIENT)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class RetryPolicy:
    """Retries a store call on :class:`StoreUnavailable` for up to ``window_s`` seconds.

    ``say`` hears one line when an outage begins (``store unreachable, retrying for up to
    N s``), not one per attempt. One policy per process role (a study, a running pair).
    """

    window_s: float = DEFAULT_RETRY_S
    say: Callable[[str], None] = _stderr
    first_pause_s: float = 0.25
    max_pause_s: float = 5.0
    _said: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not self.window_s >= 0:
            raise StoreError(f"the store retry window must be >= 0 seconds, not {self.window_s!r}")

    def call(self, attempt: Callable[[], T]) -> T:
        """``attempt()``, repeated through a transient outage; raises :class:`StoreUnreachable`
        once the window has passed, and any other error at once."""
        outage = Outage(self)
        while True:
            try:
                result = attempt()
            except StoreUnavailable as exc:
                outage.failed(exc)  # raises past the window
                time.sleep(outage.pause())
                continue
            outage.over()
            return result

    def announce(self, exc: StoreUnavailable) -> None:
        """Say once per outage that it began (not once per attempt)."""
        if not self._said:
            self._said = True
            self.say(f"echodsl: store unreachable, retrying for up to {self.window_s:.0f} s ({exc})")

    def recovered(self, seconds: float) -> None:
        if self._said:
            self._said = False
            self.say(f"echodsl: store reachable again after {seconds:.0f} s")


class Outage:
    """The bookkeeping of one run of failed attempts: since when, how long to pause next."""

    def __init__(self, policy: RetryPolicy):
        self.policy = policy
        self.since: float | None = None
        self._pause = policy.first_pause_s

    def failed(self, exc: StoreUnavailable) -> None:
        """Note a failed attempt; raises :class:`StoreUnreachable` past the window."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
            if self.policy.window_s > 0:
                self.policy.announce(exc)
        if now - self.since >= self.policy.window_s:
            raise StoreUnreachable(f"{exc}; the store stayed unreachable for {self.policy.window_s:.0f} s "
                                   "(--store-retry or ECHODSL_STORE_RETRY sets how long)") from None

    def pause(self) -> float:
        """Seconds to sleep before the next attempt (doubling, capped, never past the window)."""
        pause, self._pause = self._pause, min(2 * self._pause, self.policy.max_pause_s)
        left = self.policy.window_s - (time.monotonic() - (self.since or time.monotonic()))
        return max(0.0, min(pause, left))

    def over(self) -> None:
        """The store answered: a later failure starts a new outage."""
        if self.since is not None:
            self.policy.recovered(time.monotonic() - self.since)
        self.since, self._pause = None, self.policy.first_pause_s
