"""Store files and URLs: in-memory stores, empty and foreign files, read-only opening,
passwords never printed or put on a command line."""

import hashlib
import sqlite3
import subprocess
import sys

import pytest

from echodsl.errors import StoreError
from echodsl.lang.api import loads
from echodsl.store import Store
from tests.reliability.conftest import RUNNER, write_spec


def test_a_study_refuses_an_in_memory_store(tmp_path):
    spec = write_spec(tmp_path)
    for url in ("sqlite://", "sqlite:///:memory:"):
        out = subprocess.run([sys.executable, "-m", "echodsl", "study", str(spec), "--study", "mini", "--store", url],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 2 and "in-memory" in out.stderr, out.stderr
    assert not (tmp_path / "runs").exists()


def test_an_empty_file_becomes_a_store_and_says_so(tmp_path, caplog):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    Store.open(path).close()
    assert "empty (0-byte)" in caplog.text
    with sqlite3.connect(path) as conn:
        assert "runs" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_a_foreign_sqlite_file_is_refused_byte_for_byte_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="not an echodsl results store"):
        Store.open(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    (tmp_path / "text.db").write_text("not a database at all\n")
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store.open(tmp_path / "text.db")


def test_a_read_only_store_can_be_queried_but_not_written(tmp_path):
    path = tmp_path / "s.db"
    doc = loads(RUNNER.read_text())
    with Store.open(path) as store:
        store.record_setup(doc.study("mini"))
    with Store.open(path, read_only=True) as store:
        assert list(store.setups()) == [doc.study("mini").setup_hash]
        with pytest.raises(StoreError, match="read-only"):
            store.record_spec(doc.profile("i2v"))


def test_passwords_are_redacted_and_workers_get_the_url_outside_argv(tmp_path):
    from echodsl.lang.api import load
    from echodsl.runner.launch import STORE_ENV, LaunchOptions, worker_command, worker_env
    from echodsl.runner.plan import plan_study

    url = "postgresql+psycopg://alice:hunter2@127.0.0.1:9/nowhere"
    spec = write_spec(tmp_path)
    out = subprocess.run([sys.executable, "-m", "echodsl", "study", str(spec), "--study", "mini", "--dry-run",
                          "--store", url, "--store-retry", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "alice:***@" in out.stderr + out.stdout
    assert out.stderr.count("store unreachable, retrying for up to 1 s") == 1
    assert "hunter2" not in out.stderr + out.stdout
    pair = plan_study(load(spec), spec, "mini")[0]
    options = LaunchOptions(jobs=2)
    assert not any("hunter2" in arg for arg in worker_command(pair, url, options))
    assert worker_env(url, options)[STORE_ENV] == url
