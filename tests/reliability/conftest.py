"""Helpers for the reliability tests: real `echodsl study` processes on real files."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.postgres import postgres_server, store_url  # noqa: F401 - fixtures

RUNNER = Path(__file__).parents[1] / "runner" / "mini.mem"
FAST = ["--eval-cases", "1", "--eval-steps", "1"]


def write_spec(directory: Path, *, steps: int = 2, profiles: str = "i2v, ctx") -> Path:
    """The runner tests' miniature study with ``steps`` training steps and these profiles."""
    text = RUNNER.read_text().replace("steps = 2,", f"steps = {steps},").replace(
        "profiles    i2v, ctx", f"profiles    {profiles}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mini.mem").write_text(text)
    return directory / "mini.mem"


def study_command(spec: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "echodsl", "study", str(spec), "--study", "mini", *FAST, *extra]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def run_study(spec: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(study_command(spec, *extra), capture_output=True, text=True, env=env(), timeout=timeout)


def start_study(spec: Path, *extra: str, log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen(study_command(spec, *extra), stdout=out, stderr=subprocess.STDOUT, env=env())


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def loss_steps(run_dir: Path) -> list[int]:
    import json

    log = run_dir / "metrics.jsonl"
    if not log.exists():
        return []
    return [json.loads(x)["step"] for x in log.read_text().splitlines() if x.strip() and '"loss"' in x]


def numbers(store_path: Path) -> dict[str, list[tuple]]:
    """Every logged value of every run, keyed by profile: what "identical numbers" compares."""
    from echodsl.store import Store

    with Store.open(store_path, create=False) as store:
        return {r.profile: sorted(((m.branch, m.name, -1 if m.step is None else m.step,
                                   -1 if m.chunk is None else m.chunk, m.value)
                                  for m in store.metrics(r.run_id) if m.name != "steps_per_s"), key=repr)
                for r in store.runs()}


@pytest.fixture
def copy_spec():
    return shutil.copy
