"""Migrations: an empty database is migrated to head, the ORM classes match the migrated
schema, the checked-in schema dump is current, and unknown databases are refused."""

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from echodsl.errors import StoreError
from echodsl.store import Store
from echodsl.store.migrate import DUMP_COMMAND, SCHEMA_DUMP, dump_schema, head_revision
from echodsl.store.schema import Base

TABLES = {"alembic_version", "specs", "setups", "runs", "metrics", "latest_metrics", "case_results", "artifacts",
          "run_claims", "metric_definitions"}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_empty_database_is_migrated_to_head(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # an existing, empty file
    assert _tables(path) == set()
    with Store.open(path) as store, store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    assert _tables(path) == TABLES
    with Store.open(path):  # opening again is a no-op
        pass


def test_orm_models_match_migrations(tmp_path):
    with Store.open(tmp_path / "s.db") as store, store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == [], f"schema.py and the migrations disagree (add a migration): {diffs}"


def test_schema_dump_is_current(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        live = dump_schema(store.engine)
    checked_in = SCHEMA_DUMP.read_text(encoding="utf-8")
    assert live == checked_in, f"{SCHEMA_DUMP.name} is out of date; regenerate it with:\n    {DUMP_COMMAND}"


def test_newer_revision_is_refused(tmp_path):
    path = tmp_path / "newer.db"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(StoreError, match="9999_from_the_future.*newer echodsl"):
        Store.open(path)


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(StoreError, match="not an echodsl results store"):
        Store.open(path)
    assert _tables(path) == {"people"}  # untouched


def test_open_errors(tmp_path):
    with pytest.raises(StoreError, match="no results store"):
        Store.open(tmp_path / "missing.db", create=False)
    with pytest.raises(StoreError, match="no such directory"):
        Store.open(tmp_path / "nodir" / "x.db")
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="unsupported database|cannot open"):
        Store.open("mysql+nosuchdriver://u@h/db")


def test_a_0001_store_upgrades_to_the_memory_branch_keeping_its_rows(tmp_path):
    from alembic import command

    from echodsl.store.migrate import alembic_config

    path = tmp_path / "old.db"
    with Store.open(path) as store, store.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
        conn.execute("INSERT INTO specs VALUES ('h', 'p', '{}', NULL, 0)")
    with Store.open(path) as store:  # opening migrates to head
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        assert "h" in store.specs()


def test_migrations_and_models_on_every_backend(store_url):
    """Head from an empty database, twice (the second open is a no-op), and the ORM
    classes match what the migrations built, on SQLite and on PostgreSQL."""
    from sqlalchemy import inspect

    for _ in range(2):
        with Store.open(store_url) as store, store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            assert set(inspect(conn).get_table_names()) == TABLES
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diffs == [], f"schema.py and the migrations disagree on {store.engine.dialect.name}: {diffs}"


def test_a_store_from_before_run_claims_upgrades_keeping_its_rows(tmp_path):
    from alembic import command

    from echodsl.store.engine import make_engine
    from echodsl.store.migrate import alembic_config

    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn, conn.begin():
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO specs VALUES ('s', 'p', '{}', NULL, 1)")
        conn.execute("INSERT INTO setups VALUES ('u', 'st', '{}', 1)")
        conn.execute("INSERT INTO runs (spec_hash, setup_hash, build_hash, seed, profile, study, status, started_ms, "
                     "heartbeat_ms, versions_json, device, host) VALUES ('s', 'u', 'b', 0, 'p', 'st', 'finished', "
                     "1, 1, '{}', 'cpu', 'h')")
        conn.execute("INSERT INTO metrics (run_id, branch, key, value, is_nan, timestamp_ms) "
                     "VALUES (1, 'train', 'loss', 1.0, 0, 1)")
    with Store.open(path) as store:
        [run] = store.runs()
        assert (run.status, run.owner) == ("finished", None) and len(store.metrics(run.run_id)) == 1
    assert _tables(path) == TABLES
