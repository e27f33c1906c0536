"""`echodsl results` through the real CLI: output, files, exit codes, JSON contract."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from echodsl.cli import main

GOLDEN = Path(__file__).parent / "golden"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args, env=None):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_compare_md_golden(filled_store):
    code, out, _ = run("results", "compare", "--store", str(filled_store), "--format", "md")
    assert code == 0 and out == (GOLDEN / "compare.md").read_text(encoding="utf-8")


def test_store_from_environment(filled_store):
    code, out, _ = run("results", "list", env={"ECHODSL_STORE": str(filled_store)})
    assert code == 0 and "ctx[storage.k=20]" in out and out.count("finished") == 16


def test_list_and_show(filled_store):
    code, out, _ = run("results", "list", "--store", str(filled_store), "--json")
    runs = json.loads(out)["runs"]
    assert code == 0 and len(runs) == 16
    code, out, _ = run("results", "show", str(runs[0]["run_id"]), "--store", str(filled_store))
    assert code == 0 and "i2v" in out and "storage = none" in out
    assert re.search(r"replay\s+psnr\s+9\.8300", out)
    code, out, _ = run("results", "show", "1", "--store", str(filled_store), "--json")
    doc = json.loads(out)
    assert list(doc)[0] == "format_version" and doc["run"]["run_id"] == 1 and doc["metrics"]


def test_export_to_file(filled_store, tmp_path):
    target = tmp_path / "runs.csv"
    code, out, _ = run("results", "export", "--store", str(filled_store), "--format", "csv", "-o", str(target))
    assert code == 0 and out == ""
    assert target.read_text().splitlines()[0].startswith("run_id,profile,study,seed,status")


def test_plot_writes_pngs(filled_store, tmp_path):
    code, out, _ = run("results", "plot", "--store", str(filled_store), "--out", str(tmp_path), "--json")
    files = [Path(f) for f in json.loads(out)["files"]]
    assert code == 0 and sorted(f.name for f in files) == ["drift.png", "scaling.png", "tradeoff.png"]
    import matplotlib.image
    for f in files:
        assert f.read_bytes()[:8] == PNG_MAGIC
        height, width, _ = matplotlib.image.imread(f).shape
        assert height > 200 and width > 200


def test_plot_without_data_is_a_usage_error(filled_store, tmp_path):
    code, _, err = run("results", "plot", "scaling", "--by", "storage.grid", "--store", str(filled_store),
                       "--out", str(tmp_path))
    assert code == 2 and "no design has a numeric storage.grid" in err and not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["results", "list", "--store", "no/such/dir/x.db"], "no such directory"),
    (["results", "compare", "--store", "missing.db"], "no results store here"),
    (["results", "show", "999"], "no run 999"),
    (["results", "compare", "--by", "k"], "unknown spec field"),
])
def test_errors_exit_2_without_traceback(args, message, filled_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "--store" not in args:
        args = [*args, "--store", str(filled_store)]
    code, out, err = run(*args)
    assert code == 2 and message in err and "Traceback" not in err
    code, out, _ = run(*args, "--json")
    doc = json.loads(out)
    assert code == 2 and list(doc)[0] == "format_version" and message in doc["error"]["message"]
    assert not (tmp_path / "missing.db").exists()  # reading never creates a store


def test_store_package_does_not_import_torch(filled_store):
    code = ("import sys, echodsl.store, echodsl.store.compare, echodsl.store.export, echodsl.store.plots, "
            "echodsl.cli.results; assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
