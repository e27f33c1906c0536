"""Where a run came from: the code (git commit, dirty flag), the packages, the machine.

Nothing here imports torch or diffusers: versions come from installed package metadata.
A missing git, a directory outside a repository or an uninstalled package is recorded
as ``None``, never an error.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

PACKAGES = ("echodsl", "torch", "diffusers", "sqlalchemy")


@dataclass(frozen=True)
class Provenance:
    """The code and machine a run used. ``device`` is the caller's description, e.g.
    ``"cuda:0 NVIDIA H100 80GB HBM3"`` or ``"cpu"``."""

    device: str
    host: str
    git_commit: str | None = None
    git_dirty: bool | None = None  # uncommitted changes to tracked files
    versions: dict[str, str | None] = field(default_factory=dict)  # python + PACKAGES


def collect_provenance(device: str, cwd: str | os.PathLike | None = None) -> Provenance:
    """Provenance of this process, with git state taken from ``cwd`` (default: here)."""
    commit, dirty = git_state(Path(cwd) if cwd is not None else Path.cwd())
    return Provenance(device=device, host=socket.gethostname(), git_commit=commit, git_dirty=dirty,
                      versions=package_versions())


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(cwd: Path) -> tuple[str | None, bool | None]:
    """(HEAD commit, dirty) of the repository containing ``cwd``; (None, None) without one."""
    commit = _git(cwd, "rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
