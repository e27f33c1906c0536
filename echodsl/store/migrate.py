"""Bringing a database to the schema this echodsl expects, and dumping that schema.

A fresh (empty) database is created by running every migration up to head. An older
echodsl store is upgraded. A database at a revision this echodsl does not know (written
by a newer echodsl) or a non-empty database that is not an echodsl store is refused
with a :class:`~echodsl.errors.StoreError`; nothing is written to it.

Concurrent first opens are safe: the check-and-upgrade runs in one write transaction
(``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so exactly one process
migrates and the others then find the database at head.

Regenerate the checked-in schema dump after adding a migration::

    python -m echodsl.store.migrate --dump-schema echodsl/store/schema.sqlite.sql
"""

from __future__ import annotations

import argparse
import functools
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from echodsl.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported only when a database is not at head: importing it costs more than a
# whole `results compare`, and a store at head (every open but the first) never needs it.
HEAD_REVISION = "0004"  # the newest migration; a test keeps it equal to alembic's head

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_DUMP = Path(__file__).with_name("schema.sqlite.sql")
DUMP_COMMAND = f"python -m echodsl.store.migrate --dump-schema {Path('echodsl/store/schema.sqlite.sql')}"
_PG_LOCK_KEY = 0x6563686F  # "echo": the advisory lock that serialises migrations


def alembic_config() -> Config:
    """An alembic config built in code, so no alembic.ini has to ship with the package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the store migrations have {len(heads)} heads: {heads}"
    return heads[0]


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _at_head(engine: Engine) -> bool:
    """True when the database's one recorded revision is HEAD_REVISION (a read, no lock)."""
    from echodsl.store.engine import reading

    try:
        with engine.connect() as conn:
            rows = reading(conn).exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:  # no version table yet, or not a store: the full path below decides
        return False
    return [tuple(r) for r in rows] == [(HEAD_REVISION,)]


def upgrade(engine: Engine) -> str:
    """Bring the database behind ``engine`` to head (creating it if empty); returns head."""
    if _at_head(engine):
        return HEAD_REVISION
    from alembic import command

    head = head_revision()
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        current = current_revision(conn)
        if current == head:
            return head
        if current is None:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            if tables:
                raise StoreError(f"{_where(engine)} is not an echodsl results store "
                                 f"(it has tables {', '.join(sorted(tables)[:5])} but no schema revision)")
        else:
            _check_known(engine, current, head)
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head


def check_at_head(engine: Engine) -> None:
    """For a store opened read-only: it must already be at this echodsl's schema."""
    head = head_revision()
    with engine.connect() as conn:
        current = current_revision(conn)
    if current == head:
        return
    if current is not None:
        _check_known(engine, current, head)
    raise StoreError(f"{_where(engine)} is read-only here and at schema revision {current!r}, older than "
                     f"this echodsl's {head!r}; open it once where it is writable to upgrade it")


def _check_known(engine: Engine, revision: str, head: str) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        raise StoreError(f"{_where(engine)} has schema revision {revision!r}, which this echodsl "
                         f"does not know (its newest is {head!r}); it was written by a newer "
                         "echodsl: upgrade echodsl to read it") from None


def _where(engine: Engine) -> str:
    return getattr(engine, "echodsl_where", None) or engine.url.render_as_string(hide_password=True)


def dump_schema(engine: Engine) -> str:
    """The SQLite DDL of every table and index, in creation order (the checked-in dump)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY rowid").all()
    statements = ("\n".join(line.rstrip() for line in row[0].strip().splitlines()) for row in rows)
    return "".join(f"{sql};\n\n" for sql in statements).rstrip() + "\n"


def fresh_schema() -> str:
    """Migrate a new, empty SQLite file to head and dump its schema."""
    from echodsl.store.engine import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'schema.db'}")
        try:
            upgrade(engine)
            return dump_schema(engine)
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m echodsl.store.migrate", description=__doc__.split("\n")[0])
    parser.add_argument("--dump-schema", metavar="PATH", help="write the SQLite schema of head to PATH ('-' = stdout)")
    args = parser.parse_args(argv)
    if args.dump_schema is None:
        parser.error("nothing to do: pass --dump-schema PATH")
    schema = fresh_schema()
    if args.dump_schema == "-":
        print(schema, end="")
    else:
        Path(args.dump_schema).write_text(schema, encoding="utf-8")


if __name__ == "__main__":
    main()
