"""What opening a store and `results compare` cost at start-up: a store already at head
is opened without alembic, and compare imports neither alembic nor the language checker."""

import subprocess
import sys

from echodsl.store import Store
from echodsl.store.migrate import HEAD_REVISION, head_revision


def test_the_recorded_head_is_alembics_head():
    assert HEAD_REVISION == head_revision()


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_a_store_at_head_opens_without_alembic(filled_store):
    out = _run(f"""
import sys
from echodsl.store import Store
with Store.open({str(filled_store)!r}, create=False) as store:
    assert len(store.runs()) > 0
print(sorted(m for m in ("alembic", "echodsl.lang.checker") if m in sys.modules))
""")
    assert out == "[]"


def test_a_new_store_is_still_migrated(tmp_path):
    with Store.open(tmp_path / "new.db") as store:
        assert store.runs() == []
    out = _run(f"""
import sys
from echodsl.store import Store
Store.open({str(tmp_path / "new.db")!r}, create=False).close()
print("alembic" in sys.modules)
""")
    assert out == "False"  # the first open migrated it to head


def test_results_compare_imports_neither_alembic_nor_the_checker(filled_store):
    out = _run(f"""
import sys
from echodsl.cli import main
try:
    main(["results", "compare", "--store", {str(filled_store)!r}], prog_name="echodsl", standalone_mode=False)
except SystemExit:
    pass
print(sorted(m for m in ("alembic", "echodsl.lang.checker", "torch") if m in sys.modules))
""")
    assert out == "[]"
