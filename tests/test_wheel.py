"""What a user installs: a built wheel, installed non-editable in a fresh venv, works.

An editable install reads the source tree, so it hides a package or data file the wheel
leaves out; this test builds the wheel and uses only what is inside it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-q", "-w", str(out), str(ROOT)])
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("echodsl-*.whl")
    return path


def test_the_wheel_holds_every_package_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "echodsl").rglob("__init__.py")}
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages left out of the wheel: {missing}"
    for data in ("echodsl/grammar/mem.lark", "echodsl/store/schema.sqlite.sql",
                 "echodsl/report/templates/report.html.j2"):
        assert data in names


def test_a_non_editable_install_validates_the_shipped_specs(wheel, tmp_path):
    # The language layer only (lark, click), as a pre-commit hook installs it.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    install = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)])
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    # Run outside the checkout so nothing can be imported from the source tree.
    helped = _run([str(bin_dir / "echodsl"), "--help"], cwd=tmp_path, env=env)
    assert helped.returncode == 0, helped.stderr
    checked = _run([str(bin_dir / "echodsl"), "validate", str(ROOT / "specs")], cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
