"""Real `echodsl study` processes on one store: concurrent studies train each pair once;
SIGTERM, SIGINT and kill -9 at random points, then a re-run, give the numbers of an
uninterrupted study; `--jobs` workers die with their parent.

Each test trains the miniature study several times over, so they are marked slow.
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest

from echodsl.lang.api import load
from echodsl.runner.plan import plan_study
from echodsl.store import Store
from tests.reliability.conftest import loss_steps, numbers, run_study, start_study, wait_for, write_spec

pytestmark = pytest.mark.slow
STEPS = 40  # long enough to be caught mid-training


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted study: every number a resumed one must reproduce."""
    spec = write_spec(tmp_path_factory.mktemp("reference"), steps=STEPS)
    out = run_study(spec)
    assert out.returncode == 0, out.stderr[-3000:]
    return numbers(spec.parent / "echodsl.db")


def _pairs(spec):
    return plan_study(load(spec), spec, "mini")


def _rows(spec, url=None):
    with Store.open(url or spec.parent / "echodsl.db", create=False) as store:
        return store.runs()


def _assert_complete(spec, reference):
    rows = _rows(spec)
    assert sorted(r.profile for r in rows) == ["ctx", "i2v"], rows  # one row per pair
    assert {r.status for r in rows} == {"finished"}
    for pair in _pairs(spec):
        assert loss_steps(pair.run_dir) == list(range(1, STEPS + 1))  # every step logged once
    assert numbers(spec.parent / "echodsl.db") == reference


@pytest.mark.parametrize("processes", [2, 8])
def test_concurrent_studies_train_each_pair_once(tmp_path, processes, store_url):
    """On a SQLite file and on a PostgreSQL database."""
    spec = write_spec(tmp_path, steps=2)
    procs = [start_study(spec, "--json", "--store", store_url, log=tmp_path / f"study-{i}.log")
             for i in range(processes)]
    for p in procs:
        assert p.wait(timeout=900) == 0, (tmp_path / "study-0.log").read_text()[-3000:]
    outcomes = []
    for i in range(processes):
        text = (tmp_path / f"study-{i}.log").read_text()
        outcomes += [r["status"] for r in json.loads(text[text.index("{"):])["runs"]]
    assert outcomes.count("finished") == 2, outcomes  # each pair trained by exactly one process
    assert set(outcomes) <= {"finished", "busy", "skipped"}
    rows = _rows(spec, store_url)
    assert sorted(r.profile for r in rows) == ["ctx", "i2v"] and {r.status for r in rows} == {"finished"}
    with Store.open(store_url, create=False) as store:
        for r in rows:
            assert [m.step for m in store.metrics(r.run_id, branch="train", name="loss")] == [1, 2]
    for pair in _pairs(spec):
        assert loss_steps(pair.run_dir) == [1, 2]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_checkpoints_marks_interrupted_and_a_rerun_matches(tmp_path, reference, signum):
    spec = write_spec(tmp_path, steps=STEPS)
    first = _pairs(spec)[0]
    proc = start_study(spec, log=tmp_path / "study.log")
    wait_for(lambda: (first.run_dir / "run.json").exists(), 600, "training to start", proc)
    time.sleep(1.0)  # a few steps in (the loss log is written out at checkpoints)
    proc.send_signal(signum)
    assert proc.wait(timeout=120) == 128 + signum, (tmp_path / "study.log").read_text()[-3000:]
    [row] = _rows(spec)
    assert row.status == "interrupted" and signal.Signals(signum).name in row.error
    stopped_at = loss_steps(first.run_dir)[-1]
    assert stopped_at < STEPS and (first.run_dir / "checkpoints" / f"step_{stopped_at:08d}.safetensors").exists()
    again = run_study(spec)
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_complete(spec, reference)


def test_kill_9_at_random_points_then_rerun_at_once_matches(tmp_path, reference):
    rng = random.Random(int(os.environ.get("ECHODSL_TEST_SEED", "17")))
    spec = write_spec(tmp_path, steps=STEPS)
    pairs = _pairs(spec)
    for attempt in range(3):
        proc = start_study(spec, log=tmp_path / f"study-{attempt}.log")
        wait_for(lambda: any((p.run_dir / "run.json").exists() for p in pairs) or proc.poll() is not None, 600,
                 "training to start")
        time.sleep(rng.uniform(0.0, 6.0))
        proc.kill()
        proc.wait()
    again = run_study(spec)  # at once: the dead owner's claim is recognised without waiting 120 s
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_complete(spec, reference)


def test_jobs_workers_die_with_their_parent(tmp_path, reference):
    spec = write_spec(tmp_path, steps=STEPS)
    pairs = _pairs(spec)
    proc = start_study(spec, "--jobs", "2", log=tmp_path / "study.log")
    wait_for(lambda: all((p.run_dir / "run.json").exists() for p in pairs), 600, "both workers to train", proc)
    time.sleep(1.0)
    owners = [int(r.owner.split(":")[1]) for r in _rows(spec)]
    assert len(owners) == 2 and proc.pid not in owners
    proc.kill()  # the parent dies without a chance to forward anything
    proc.wait()

    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"

    wait_for(lambda: all(gone(pid) for pid in owners), 120, "the workers to exit")
    rows = _rows(spec)
    assert {r.status for r in rows} == {"interrupted"} and all("SIGTERM" in r.error for r in rows)
    again = run_study(spec)
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_complete(spec, reference)
