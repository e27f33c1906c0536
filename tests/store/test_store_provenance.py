"""Provenance: git commit and dirty flag from a real repository, and graceful without one."""

import shutil
import subprocess

import pytest

from echodsl.store.provenance import collect_provenance, git_state, package_versions


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_and_dirty_flag(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("commit", "-q", "-m", "init")
    commit, dirty = git_state(tmp_path)
    assert len(commit) == 40 and dirty is False
    (tmp_path / "untracked.txt").write_text("ignored")  # untracked files do not make it dirty
    assert git_state(tmp_path) == (commit, False)
    (tmp_path / "a.txt").write_text("two")
    assert git_state(tmp_path) == (commit, True)


def test_outside_a_repository(tmp_path):
    assert git_state(tmp_path) == (None, None)
    prov = collect_provenance("cuda:0 test", cwd=tmp_path)
    assert prov.device == "cuda:0 test" and prov.host and prov.git_commit is None


def test_package_versions():
    versions = package_versions()
    assert versions["python"].count(".") == 2 and versions["echodsl"]
    assert set(versions) == {"python", "echodsl", "torch", "diffusers", "sqlalchemy"}
