"""A store that blinks does not stop training: a PostgreSQL server stopped and started again,
a SQLite file held locked past the busy timeout. Writes wait (in order, each delivered once)
within the retry window; past it a pair checkpoints and fails with one line, and a re-run
finishes with nothing lost or doubled. Errors that will not pass still fail at once.

The whole-study tests train the miniature study several times over, so they are slow.
"""

import subprocess
import sys
import threading
import time

import pytest

from echodsl.errors import StoreError
from echodsl.lang.api import load, loads
from echodsl.runner.plan import plan_study
from echodsl.store import MetricValue, RunIdentity, RunInfo, Store, collect_provenance
from echodsl.store.outbox import Outbox
from echodsl.store.resilience import RetryPolicy, StoreUnavailable, StoreUnreachable
from tests.postgres import own_postgres_server  # noqa: F401 - fixture
from tests.reliability.conftest import RUNNER, env, numbers, run_study, start_study, study_command, wait_for, \
    write_spec


def _claimed_run(store: Store) -> int:
    doc = loads(RUNNER.read_text())
    study, profile = doc.study("mini"), doc.profile("i2v")
    store.record_setup(study)
    store.record_spec(profile)
    identity = RunIdentity(profile.spec_hash, study.setup_hash, "build", 0)
    return store.claim_run(RunInfo(identity, "i2v", "mini", collect_provenance("cpu")), owner="test:1").run.run_id


def test_writes_made_while_the_server_is_down_arrive_once_in_order(tmp_path, own_postgres_server):
    server = own_postgres_server
    said = []
    with Store.open(server.url()) as store:
        run_id = _claimed_run(store)
        outbox = Outbox(store, run_id, RetryPolicy(window_s=60, say=said.append, max_pause_s=0.5))
        outbox.log_metrics([MetricValue("train", "loss", 1.0, step=1)])
        outbox.drain()
        server.pause()  # connections in the pool are cut too
        ckpt = tmp_path / "step_1.safetensors"
        ckpt.write_bytes(b"weights")
        outbox.log_artifact(ckpt, kind="checkpoint")
        for step in (2, 3):
            outbox.log_metrics([MetricValue("train", "loss", float(step), step=step)])
            outbox.heartbeat(steps=step, owner="test:1")
        outbox.log_case("replay", "case-0", {"overall": 0.5}, judge="j", judge_version="1")
        outbox.finish_run("finished", steps=3, owner="test:1")
        time.sleep(2.0)
        assert outbox.failure is None and not outbox.drain(timeout=0.1)  # still waiting, not failed
        assert len(said) == 1 and said[0].startswith("echodsl: store unreachable, retrying for up to 60 s")
        server.resume()
        outbox.drain()
        outbox.close()
        assert [(m.step, m.value) for m in store.metrics(run_id)] == [(1, 1.0), (2, 2.0), (3, 3.0)]
        assert [(a.kind, a.size_bytes) for a in store.artifacts(run_id)] == [("checkpoint", 7)]
        assert [c.case_id for c in store.cases(run_id)] == ["case-0"]
        run = store.run(run_id)
        assert run.status == "finished" and run.steps == 3
    assert said[-1].startswith("echodsl: store reachable again after")


def test_a_metric_batch_whose_commit_landed_is_not_written_twice(tmp_path):
    """A retry after a lost commit answer carries the batch's timestamp and finds it there."""
    with Store.open(tmp_path / "s.db") as store:
        run_id = _claimed_run(store)
        batch = [MetricValue("train", "loss", 0.5, step=7), MetricValue("train", "lr", 1e-3, step=7)]
        store.log_metrics(run_id, batch, timestamp_ms=1234)
        store.log_metrics(run_id, batch, timestamp_ms=1234)  # the retry
        store.log_metrics(run_id, batch, timestamp_ms=1235)  # a new batch with the same values
        assert len(store.metrics(run_id)) == 4


def test_past_the_window_writes_fail_with_the_store_named_and_artifacts_are_kept(tmp_path, own_postgres_server):
    server = own_postgres_server
    url = server.url().replace("postgres@", "postgres:s3cret@")
    with Store.open(url) as store:
        run_id = _claimed_run(store)
        outbox = Outbox(store, run_id, RetryPolicy(window_s=1.5, say=lambda m: None, max_pause_s=0.2))
        server.pause()
        ckpt = tmp_path / "step_5.safetensors"
        ckpt.write_bytes(b"w")
        outbox.log_artifact(ckpt, kind="checkpoint")
        outbox.log_metrics([MetricValue("train", "loss", 1.0, step=5)])
        with pytest.raises(StoreUnreachable) as caught:
            outbox.drain()
        message = str(caught.value)
        assert "postgres:***@127.0.0.1" in message and "s3cret" not in message and "\n" not in message
        outbox.close()
        assert outbox.keep(tmp_path) == 1  # the checkpoint record, for the next run of the pair
        server.resume()
        from echodsl.store.outbox import deliver_kept

        assert deliver_kept(store, tmp_path, RetryPolicy(window_s=10)) == 1
        assert deliver_kept(store, tmp_path, RetryPolicy(window_s=10)) == 0  # delivered once
        assert [a.path for a in store.artifacts(run_id)] == [str(ckpt.resolve())]


def test_errors_that_will_not_pass_fail_at_once(own_postgres_server, tmp_path):
    policy = RetryPolicy(window_s=120, say=lambda m: pytest.fail(f"retried a permanent error: {m}"))
    t0 = time.monotonic()
    with pytest.raises(StoreError) as missing:
        policy.call(lambda: Store.open(own_postgres_server.url("no_such_db")))
    assert not isinstance(missing.value, StoreUnavailable) and "does not exist" in str(missing.value)
    path = tmp_path / "s.db"
    Store.open(path).close()
    with Store.open(path, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        policy.call(lambda: _claimed_run(store))
    assert time.monotonic() - t0 < 30


def test_a_study_starting_while_the_store_is_down_waits_and_says_so_once(tmp_path, own_postgres_server):
    server = own_postgres_server
    spec = write_spec(tmp_path)
    Store.open(server.url()).close()  # an existing store, then the server goes down
    server.pause()
    proc = subprocess.Popen(study_command(spec, "--dry-run", "--store", server.url(), "--store-retry", "120"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    wait_for(lambda: any("store unreachable" in line for line in lines), 120, "the study to say it waits", proc)
    time.sleep(3.0)  # a few retries: still one line
    server.resume()
    out = proc.stdout.read()
    assert proc.wait(timeout=300) == 0, "".join(lines)[-3000:]
    reader.join(timeout=10)
    err = "".join(lines)
    assert err.count("store unreachable, retrying for up to 120 s") == 1, err
    assert "new" in out


@pytest.mark.slow
def test_sqlite_locked_past_its_busy_timeout_is_waited_out(tmp_path):
    """Another process holds the write lock for longer than the 30 s busy timeout."""
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        run_id = _claimed_run(store)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(float(sys.argv[2])); "
        "c.execute('COMMIT')"), str(path), "33"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    said = []
    with Store.open(path) as store:
        outbox = Outbox(store, run_id, RetryPolicy(window_s=90, say=said.append, max_pause_s=1.0))
        outbox.log_metrics([MetricValue("train", "loss", 1.0, step=1)])
        outbox.drain()
        assert holder.wait(timeout=60) == 0
        assert [m.value for m in store.metrics(run_id)] == [1.0]
    assert "locked" in said[0] and "retrying for up to 90 s" in said[0]



# --- whole studies ----------------------------------------------------------------------------

STEPS = 105  # the worker checkpoints every 100 steps: one mid-training, one at the end
OUTAGE_S = 30.0


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted study: the rows a study through an outage must end up with."""
    spec = write_spec(tmp_path_factory.mktemp("reference"), steps=STEPS)
    out = run_study(spec)
    assert out.returncode == 0, out.stderr[-3000:]
    return numbers(spec.parent / "echodsl.db"), _artifacts(spec, spec.parent / "echodsl.db")


def _pairs(spec):
    return plan_study(load(spec), spec, "mini")


def _artifacts(spec, url) -> dict[str, list[tuple[str, str]]]:
    """Each run's artifact rows as (kind, path under the study folder); the recorded hash is
    the file's where the file is still there (old checkpoints are pruned)."""
    from echodsl.runtime.checkpoint import sha256_of
    from pathlib import Path

    out = {}
    with Store.open(url, create=False) as store:
        for run in store.runs():
            rows = store.artifacts(run.run_id)
            for a in rows:
                if Path(a.path).exists():
                    assert sha256_of(Path(a.path)) == a.sha256, a
            out[run.profile] = sorted((a.kind, str(Path(a.path).relative_to(spec.parent))) for a in rows)
    return out


def _first_checkpoint(pair):
    return lambda: any((pair.run_dir / "checkpoints").glob("step_*.safetensors"))


def _assert_like_reference(spec, url, reference, *, extra_checkpoints: bool = False):
    with Store.open(url, create=False) as store:
        rows = store.runs()
    assert sorted(r.profile for r in rows) == ["ctx", "i2v"], rows  # exactly one run row per pair
    assert {r.status for r in rows} == {"finished"}
    assert numbers(url) == reference[0]  # every metric value once, none lost, none doubled
    got = _artifacts(spec, url)
    for profile, want in reference[1].items():
        assert len(set(got[profile])) == len(got[profile])
        if extra_checkpoints:  # a pair stopped mid-training keeps the checkpoint it stopped at
            assert set(want) <= set(got[profile]) and all(k == "checkpoint" for k, _ in set(got[profile]) - set(want))
        else:
            assert got[profile] == want


@pytest.mark.slow
def test_a_server_restart_mid_study_changes_nothing(tmp_path, reference, own_postgres_server):
    server = own_postgres_server
    url = server.url()
    spec = write_spec(tmp_path, steps=STEPS)
    proc = start_study(spec, "--store", url, log=tmp_path / "study.log")
    wait_for(_first_checkpoint(_pairs(spec)[0]), 600, "the first checkpoint", proc)
    server.pause()
    time.sleep(OUTAGE_S)
    server.resume()
    log = tmp_path / "study.log"
    assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "store unreachable, retrying for up to 300 s" in text and "[failed]" not in text
    _assert_like_reference(spec, url, reference)


@pytest.mark.slow
def test_an_outage_past_the_window_fails_in_one_line_and_a_rerun_loses_nothing(tmp_path, reference,
                                                                              own_postgres_server):
    server = own_postgres_server
    url = server.url().replace("postgres@", "postgres:s3cret@")
    spec = write_spec(tmp_path, steps=STEPS)
    proc = start_study(spec, "--store", url, "--store-retry", "5", log=tmp_path / "study.log")
    wait_for(_first_checkpoint(_pairs(spec)[0]), 600, "the first checkpoint", proc)
    server.pause()
    assert proc.wait(timeout=600) == 1
    text = (tmp_path / "study.log").read_text()
    [failed] = [line for line in text.splitlines() if line.startswith("[failed]")]
    assert "StoreUnreachable" in failed and "postgres:***@127.0.0.1" in failed and "5 s" in failed, failed
    assert "s3cret" not in text and "Traceback" not in text
    assert "[interrupted] ctx (seed 0): not started: the store is unreachable" in text
    server.resume()
    again = run_study(spec, "--store", url)
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_like_reference(spec, url, reference, extra_checkpoints=True)


@pytest.mark.slow
def test_a_study_rides_out_a_sqlite_store_locked_past_its_busy_timeout(tmp_path, reference):
    spec = write_spec(tmp_path, steps=STEPS)
    path = spec.parent / "echodsl.db"
    proc = start_study(spec, log=tmp_path / "study.log")
    wait_for(_first_checkpoint(_pairs(spec)[0]), 600, "the first checkpoint", proc)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60); "
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(float(sys.argv[2])); "
        "c.execute('COMMIT')"), str(path), "35"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    assert holder.wait(timeout=120) == 0
    log = tmp_path / "study.log"
    assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    assert "locked by another writer" in log.read_text()
    _assert_like_reference(spec, path, reference)
