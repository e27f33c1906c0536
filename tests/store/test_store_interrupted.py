"""A run whose heartbeat stops reads as interrupted; resuming takes it over exactly once."""

import time

import pytest
from store_fixtures import start

from echodsl.errors import StoreError
from echodsl.store import Store

STALE = 0.3  # seconds


@pytest.fixture
def store(store_url):
    with Store.open(store_url, stale_after_s=STALE) as s:
        yield s


def test_stale_heartbeat_reads_as_interrupted(store, study, tmp_path):
    run_id = start(store, study, study.profiles[0], seed=0)
    assert store.run(run_id).status == "running"
    time.sleep(STALE + 0.1)
    assert store.run(run_id).status == "interrupted"
    assert [r.run_id for r in store.runs(status="interrupted")] == [run_id]
    assert store.runs(status="running") == []
    with Store.open(store.engine.url.render_as_string(hide_password=False)) as patient:  # the default limit (120 s) is not reached
        assert patient.run(run_id).status == "running"
    store.heartbeat(run_id)  # the owner is alive after all
    assert store.run(run_id).status == "running"


def test_mark_interrupted_then_resume(store, study, tmp_path):
    stale = start(store, study, study.profiles[0], seed=0)
    time.sleep(STALE + 0.1)
    fresh = start(store, study, study.profiles[0], seed=1)
    assert store.mark_interrupted() == [stale]
    assert store.mark_interrupted() == []
    assert store.run(stale).status == "interrupted" and store.run(fresh).status == "running"
    with pytest.raises(StoreError, match="interrupted, not running"):
        store.heartbeat(stale)  # ownership was lost: the old process must stop
    assert store.resumable(store.run(stale).identity) is None  # no checkpoint yet
    ckpt = tmp_path / "ckpt.safetensors"
    ckpt.write_bytes(b"x")
    store.log_artifact(stale, ckpt, kind="checkpoint")
    run, checkpoint = store.resumable(store.run(stale).identity)
    assert run.run_id == stale and checkpoint.path == str(ckpt)
    assert store.resume_run(stale).status == "running"
    with pytest.raises(StoreError, match="only interrupted or failed"):
        store.resume_run(stale)  # a second taker loses
    store.heartbeat(stale)
    store.finish_run(stale)
    assert store.run(stale).status == "finished"
