"""Opening a database: a path means a SQLite file, anything with ``://`` a SQLAlchemy URL.

SQLite is set up for several writer processes on one machine: WAL (readers never block
the writer), a 30 s busy timeout, foreign keys on, and every write transaction started
with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of
deadlocking when both try to upgrade a read lock (pysqlite's default ``BEGIN`` is
deferred), retried with short sleeps while another writer holds the lock. Read-only work
asks for a deferred transaction with :func:`reading`.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from echodsl.errors import StoreError
from echodsl.store.naming import is_in_memory
from echodsl.store.resilience import StoreUnavailable

logger = logging.getLogger("echodsl.store")
BUSY_TIMEOUT_S = 30.0
_BEGIN = "echodsl_begin"  # execution option: how a SQLite transaction begins


_PASSWORD = re.compile(r"(://[^/?#@:]*):[^/?#@]*@")


def redact_url(url: str | os.PathLike) -> str:
    """``url`` with any password replaced by ``***`` (what every message and summary shows)."""
    return _PASSWORD.sub(r"\1:***@", os.fspath(url))


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


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///PATH`` URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite:///") or is_in_memory(url):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def inspect_sqlite_file(path: Path, read_only: bool | None) -> bool:
    """Look at an existing store file without writing to it. Refuses what is not SQLite or
    is a SQLite database that is not an echodsl store; warns about a 0-byte file (it will
    become a new store). Returns whether to open it read-only (``read_only`` if given, else
    whether this process cannot write the file or its directory)."""
    if read_only is None:
        read_only = not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store file ({exc.strerror})") from None
    if not header:
        if read_only:
            raise StoreError(f"{path} is an empty (0-byte) file on read-only storage: not a results store")
        logger.warning("echodsl: %s is an empty (0-byte) file: creating a new results store in it", path)
        return False
    if header != b"SQLite format 3\x00":
        raise StoreError(f"{path} is not a SQLite database, so not an echodsl results store; "
                         "nothing was written to it")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{_ro_query(path)}", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a readable SQLite database ({exc}); nothing was written to it") from None
    if tables - {"alembic_version"} and "alembic_version" not in tables:
        raise StoreError(f"{path} is not an echodsl results store (it has tables "
                         f"{', '.join(sorted(tables)[:5])} but no schema revision); nothing was written to it")
    return read_only


def _ro_query(path: Path) -> str:
    # On read-only media SQLite cannot even create the WAL index: read it as immutable.
    return "mode=ro" if os.access(path.parent, os.W_OK) else "immutable=1"


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; SQLite connections get the pragmas in the module docstring
    (a ``read_only`` SQLite file is opened with ``mode=ro`` and none of them)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - SQLAlchemy raises ArgumentError or ValueError
        raise StoreError(f"not a database URL or path: {redact_url(url)!r}") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            hint = ' (pip install "echodsl[postgres]")' if parsed.get_backend_name() == "postgresql" else ""
            raise StoreError(f"cannot open {parsed.render_as_string(hide_password=True)}: "
                             f"its driver {exc.name} is not installed{hint}") from None
        except Exception as exc:  # noqa: BLE001 - e.g. a malformed URL
            raise StoreError(f"cannot open {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if read_only and parsed.database:
        path = Path(parsed.database)
        uri = f"{path.resolve().as_uri()}?{_ro_query(path)}"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S,
                                                                           check_same_thread=False))
        event.listen(engine, "connect", _sqlite_connect_read_only)
        event.listen(engine, "begin", _sqlite_begin)
        engine.echodsl_where = str(path)
        return engine
    try:
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    except Exception as exc:  # noqa: BLE001 - an ArgumentError for a malformed sqlite URL
        raise StoreError(f"not a SQLite URL or path: {redact_url(url)!r} ({str(exc).splitlines()[0]})") from None
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


def _sqlite_connect_read_only(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN, "IMMEDIATE")
    if getattr(conn.engine, "echodsl_where", None):
        mode = "DEFERRED"  # a read-only file (see make_engine): never ask for the write lock
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
                    raise StoreUnavailable(f"the store stayed locked by another writer for {BUSY_TIMEOUT_S:.0f} s") \
                        from None
            time.sleep(random.uniform(0, pause))
            pause = min(2 * pause, 0.005)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
