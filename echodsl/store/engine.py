"""Opening a database: a path means a SQLite file, anything with ``://`` a SQLAlchemy URL.

SQLite is set up for several writer processes on one machine: WAL (readers never block
the writer), a 30 s busy timeout, foreign keys on, and every write transaction started
with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of
deadlocking when both try to upgrade a read lock (pysqlite's default ``BEGIN`` is
deferred), retried with short sleeps while another writer holds the lock. Read-only work
asks for a deferred transaction with :func:`reading`.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from echodsl.errors import StoreError

BUSY_TIMEOUT_S = 30.0
_BEGIN = "echodsl_begin"  # execution option: how a SQLite transaction begins


_PASSWORD = re.compile(r"(://[^/?#@:]*):[^/?#@]*@")


def redact_url(url: str | os.PathLike) -> str:
    """``url`` with any password replaced by ``***`` (what every message and summary shows)."""
    return _PASSWORD.sub(r"\1:***@", os.fspath(url))


def is_in_memory(url: str) -> bool:
    """True for SQLite URLs that keep nothing once the process ends (``sqlite://``,
    ``sqlite:///:memory:``, ``mode=memory``)."""
    if not url.startswith("sqlite"):
        return False
    rest = url.split("://", 1)[-1]
    return rest in ("", "/", "/:memory:") or rest.startswith("/:memory:?") or "mode=memory" in rest


def resolve_url(url_or_path: str | os.PathLike) -> str:
    """A SQLAlchemy URL for ``url_or_path`` (a bare path becomes an absolute sqlite URL)."""
    text = os.fspath(url_or_path)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a store file")
    if not path.parent.is_dir():
        raise StoreError(f"{path.parent}: no such directory for the store file")
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite connections get the pragmas in the module docstring."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises ArgumentError or ValueError
        raise StoreError(f"not a database URL or path: {redact_url(url)!r}") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except Exception as exc:  # noqa: BLE001 - e.g. the driver is not installed
            raise StoreError(f"cannot open {parsed.render_as_string(hide_password=True)}: {exc}") from None
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def reading(conn: Connection) -> Connection:
    """Mark ``conn`` as read-only work: on SQLite its transaction begins deferred."""
    return conn.execution_options(**{_BEGIN: "DEFERRED"})


def _sqlite_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # the "begin" hook below emits BEGIN itself
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
    # Two connections switching a new file to WAL at once can deadlock, and SQLite then
    # fails one at once instead of calling the busy handler: so poll for this one too.
    _polling(dbapi_conn, lambda: dbapi_conn.execute("PRAGMA journal_mode = WAL").fetchone())


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN, "IMMEDIATE")
    raw = conn.connection.dbapi_connection
    if mode != "IMMEDIATE":
        raw.execute(f"BEGIN {mode}")
    else:
        _polling(raw, lambda: raw.execute("BEGIN IMMEDIATE"))


def _polling(raw, attempt) -> None:
    """Run ``attempt`` until it gets past a lock held by another connection.

    SQLite's own busy handler sleeps in steps growing to 100 ms, so with many writers the
    lock sits free while everyone sleeps; short jittered sleeps keep the queue moving.
    """
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        deadline, pause = time.monotonic() + BUSY_TIMEOUT_S, 0.0005
        while True:
            try:
                attempt()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreError(f"the store stayed locked by another writer for {BUSY_TIMEOUT_S:.0f} s") from None
            time.sleep(random.uniform(0, pause))
            pause = min(2 * pause, 0.005)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
