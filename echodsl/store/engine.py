"""Opening a database: a path means a SQLite file, anything with ``://`` a SQLAlchemy URL.

SQLite is set up for several writer processes on one machine: WAL (readers never block
the writer), a 30 s busy timeout, foreign keys on, and every write transaction started
with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of
deadlocking when both try to upgrade a read lock (pysqlite's default ``BEGIN`` is
deferred). Read-only work asks for a deferred transaction with :func:`reading`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from echodsl.errors import StoreError

BUSY_TIMEOUT_S = 30.0
_BEGIN = "echodsl_begin"  # execution option: how a SQLite transaction begins


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
        raise StoreError(f"not a database URL or path: {url!r} ({exc})") from None
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
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys = ON")
    if cur.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_BEGIN, 'IMMEDIATE')}")
