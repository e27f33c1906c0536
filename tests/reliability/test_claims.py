"""One claim per run identity: racing processes, dead owners and stale heartbeats, on a
SQLite file and on a real PostgreSQL server."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from echodsl.errors import StoreError
from echodsl.lang.api import loads
from echodsl.store import MetricValue, RunIdentity, RunInfo, Store, collect_provenance

SPEC = """
profile a {}
study s {
    backbone    wan(preset = tiny)
    data        world(scenes = 2)
    train       flow(steps = 2)
    eval        replay
    profiles    a
    seeds       0
}
"""

# A process that claims IDENTITY at START (a shared wall-clock instant), prints what it got,
# and stays alive (so its claim stays live) until the file RELEASE appears.
CLAIMER = """
import json, os, sys, time
from echodsl.store import RunIdentity, RunInfo, Store, collect_provenance
url, start, release = sys.argv[1], float(sys.argv[2]), sys.argv[3]
info = RunInfo(RunIdentity(*json.loads(sys.argv[4])), "a", "s", collect_provenance("cpu"))
with Store.open(url) as store:
    time.sleep(max(0.0, start - time.time()))
    claim = store.claim_run(info)
    print(json.dumps([claim.action, claim.run.run_id]), flush=True)
deadline = time.time() + 300
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
"""


@pytest.fixture
def recorded(store_url):
    doc = loads(SPEC)
    study, profile = doc.study("s"), doc.profile("a")
    url = store_url
    with Store.open(url) as store:
        store.record_setup(study)
        store.record_spec(profile)
    return url, RunIdentity(profile.spec_hash, study.setup_hash, "build", 0)


def _race(url: str, identity: RunIdentity, n: int, release) -> list[tuple[str, int]]:
    """``n`` processes claim at once; all stay alive until every one has its answer."""
    start = time.time() + 3.0  # most processes have imported and opened the store by then
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, url, str(start), str(release),
                               json.dumps([identity.spec_hash, identity.setup_hash, identity.build_hash,
                                           identity.seed])], stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    results = [tuple(json.loads(p.stdout.readline())) for p in procs]
    release.touch()
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    release.unlink()
    return results


def test_eight_racing_processes_open_one_run_and_one_takes_over_a_dead_claim(recorded, tmp_path):
    url, identity = recorded
    first = _race(url, identity, 8, tmp_path / "release")
    assert sorted(a for a, _ in first) == ["busy"] * 7 + ["new"]
    run_id = next(r for a, r in first if a == "new")
    assert {r for _, r in first} == {run_id}
    # the winner has exited: its claim is dead on this host at once (no heartbeat wait)
    second = _race(url, identity, 4, tmp_path / "release")
    assert sorted(a for a, _ in second) == ["busy"] * 3 + ["resumed"]
    assert {r for _, r in second} == {run_id}
    with Store.open(url) as store:
        assert [r.run_id for r in store.runs()] == [run_id]


def test_taking_over_keeps_the_row_drops_its_results_and_locks_out_the_old_owner(recorded, tmp_path):
    url, identity = recorded
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{socket.gethostname()}:{int(dead.stdout)}:1"
    info = RunInfo(identity, "a", "s", collect_provenance("cpu"))
    with Store.open(url) as store:
        first = store.claim_run(info, owner=dead_owner)
        assert first.action == "new"
        run_id = first.run.run_id
        store.log_metrics(run_id, [MetricValue("train", "loss", 0.5, step=1)])
        ckpt = tmp_path / "step_00000001.safetensors"
        ckpt.write_bytes(b"x")
        store.log_artifact(run_id, ckpt, kind="checkpoint")

        second = store.claim_run(info)
        assert (second.action, second.run.run_id, second.previous_owner) == ("resumed", run_id, dead_owner)
        assert second.checkpoint.path == str(ckpt.resolve())
        assert store.metrics(run_id) == [] and store.latest_metrics([run_id]) == []
        with pytest.raises(StoreError, match="taken over"):
            store.heartbeat(run_id, owner=dead_owner)
        with pytest.raises(StoreError, match="taken over"):
            store.finish_run(run_id, "finished", owner=dead_owner)
        store.finish_run(run_id, "finished", owner=second.run.owner)
        assert store.claim_run(info).action == "done"
        assert len(store.runs()) == 1


def test_a_claim_held_on_another_host_waits_for_its_heartbeat_to_expire(recorded):
    url, identity = recorded
    info = RunInfo(identity, "a", "s", collect_provenance("cpu"))
    with Store.open(url, stale_after_s=0.5) as store:
        run_id = store.claim_run(info, owner="elsewhere:1234:99").run.run_id
        assert store.claim_run(info).action == "busy"  # alive as far as anyone here can tell
        time.sleep(0.7)
        taken = store.claim_run(info)
        assert (taken.action, taken.run.run_id) == ("resumed", run_id)


def test_rows_from_before_claims_are_reused_not_duplicated(recorded):
    """A store written by an older echodsl may hold two rows for one identity: a claim
    takes over one of them and closes the other."""
    url, identity = recorded
    info = RunInfo(identity, "a", "s", collect_provenance("cpu"))
    with Store.open(url, stale_after_s=0.2) as store:
        old = [store.start_run(info, owner="elsewhere:1:1") for _ in range(2)]
        time.sleep(0.3)
        claim = store.claim_run(info)
        assert claim.action == "resumed" and claim.run.run_id in old
        statuses = {r.run_id: r.status for r in store.runs()}
        assert sorted(statuses.values()) == ["interrupted", "running"]
        assert os.getpid() == int(claim.run.owner.split(":")[1])
