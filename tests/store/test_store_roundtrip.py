"""The store's public API on a real SQLite file and a real PostgreSQL server: what goes in
comes back, verbatim."""

import hashlib
import math

import pytest
from store_fixtures import BUILD, PROVENANCE, start

from echodsl.errors import StoreError
from echodsl.store import MetricValue, RunIdentity, RunInfo, Store

INJECTION = "x'); DROP TABLE runs;--"


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def test_sqlite_pragmas(store, tmp_path):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_run_round_trip(store, study):
    profile = study.profiles[2]
    run_id = start(store, study, profile, seed=1)
    run = store.run(run_id)
    assert run.identity == RunIdentity(profile.spec_hash, study.setup_hash, BUILD, 1)
    assert (run.profile, run.study, run.status, run.compile_mode) == (profile.name, "table1", "running", "default")
    assert run.provenance == PROVENANCE
    assert store.spec(profile.spec_hash).canonical == profile.canonical()
    assert store.setups()[study.setup_hash].canonical == study.setup()
    store.heartbeat(run_id, steps=7)
    store.finish_run(run_id, steps=10, step_time_s=0.25, device_hours=0.5)
    run = store.run(run_id)
    assert (run.status, run.steps, run.step_time_s, run.device_hours) == ("finished", 10, 0.25, 0.5)
    assert run.device_hours_per_step == 0.05 and run.ended_ms >= run.started_ms
    assert store.find_run(run.identity) == run
    assert store.runs(study="table1", status="finished") == [run]


def test_metrics_round_trip_and_latest(store, study):
    run_id = start(store, study, study.profiles[0], seed=0)
    store.log_metric(run_id, "replay", "psnr", 12.5)
    store.log_metric(run_id, "replay", "psnr", 11.0, chunk=3)
    store.log_metric(run_id, "replay", "lpips", math.nan)
    store.log_metric(run_id, "replay", "psnr", math.inf, chunk=4)
    store.log_metrics(run_id, [MetricValue("train", "loss", 0.5, step=20), MetricValue("train", "loss", 0.9, step=10)])
    logged = store.metrics(run_id)
    assert [(m.branch, m.name, m.step, m.chunk) for m in logged] == [
        ("replay", "psnr", None, None), ("replay", "psnr", None, 3), ("replay", "lpips", None, None),
        ("replay", "psnr", None, 4), ("train", "loss", 20, None), ("train", "loss", 10, None)]
    assert logged[2].is_nan and math.isnan(logged[2].value) and logged[3].value == math.inf
    latest = {(m.branch, m.name, m.chunk): m for m in store.latest_metrics([run_id])}
    assert latest[("train", "loss", None)].value == 0.5  # the higher step wins, not the later write
    assert latest[("replay", "psnr", None)].value == 12.5 and latest[("replay", "psnr", 3)].value == 11.0
    store.log_metric(run_id, "replay", "psnr", 13.0)  # same (no) step: the later write wins
    latest = {(m.branch, m.name, m.chunk): m for m in store.latest_metrics([run_id])}
    assert latest[("replay", "psnr", None)].value == 13.0 and latest[("replay", "lpips", None)].is_nan
    assert len(store.metrics(run_id, branch="replay", name="psnr")) == 4


def test_cases_round_trip_and_replace(store, study):
    run_id = start(store, study, study.profiles[0], seed=0)
    scores = {"appearance": 4.0, "presence": 5.0, "view": 3.0, "scene": 2.0, "overall": 77.0}
    store.log_case(run_id, "return_open", "case-1", scores, judge="rubric", judge_version="1", raw_response='{"a":4}')
    store.log_case(run_id, "return_open", "case-2", {}, judge="rubric", judge_version="1", status="failed",
                   error="timeout")
    store.log_case(run_id, "return_open", "case-1", {**scores, "overall": 70.0}, judge="rubric", judge_version="2")
    cases = store.cases(run_id)
    assert [(c.case_id, c.status, c.overall, c.judge_version) for c in cases] == [
        ("case-1", "ok", 70.0, "2"), ("case-2", "failed", None, "1")]
    assert cases[0].scores["appearance"] == 4.0 and cases[1].error == "timeout"


def test_artifact_sha256(store, study, tmp_path):
    run_id = start(store, study, study.profiles[0], seed=0)
    ckpt = tmp_path / "step_100.safetensors"
    ckpt.write_bytes(b"weights" * 1000)
    art = store.log_artifact(run_id, ckpt, kind="checkpoint")
    assert art.sha256 == hashlib.sha256(b"weights" * 1000).hexdigest() and art.size_bytes == 7000
    assert store.artifacts(run_id) == [art] and store.checkpoint(run_id) == art
    with pytest.raises(StoreError, match="no such file"):
        store.log_artifact(run_id, tmp_path / "missing.bin")


def test_injection_looking_names_stored_verbatim(store, study, tmp_path):
    store.record_setup(study)
    profile = study.profiles[0].model_copy(update={"name": INJECTION})
    store.record_spec(profile, INJECTION)
    ident = RunIdentity(profile.spec_hash, study.setup_hash, BUILD, 0)
    run_id = store.start_run(RunInfo(ident, INJECTION, INJECTION, PROVENANCE))
    store.log_case(run_id, "return_open", INJECTION, {"overall": 1.0}, judge=INJECTION, judge_version=INJECTION,
                   raw_response=INJECTION, error=INJECTION)
    run = store.run(run_id)
    assert (run.profile, run.study) == (INJECTION, INJECTION)
    assert store.runs(study=INJECTION) == [run]
    assert store.cases(run_id)[0].case_id == INJECTION and store.spec(profile.spec_hash).source_text == INJECTION
    from sqlalchemy import inspect
    assert "runs" in inspect(store.engine).get_table_names()


def test_invalid_writes_are_store_errors(store, study):
    run_id = start(store, study, study.profiles[0], seed=0)
    with pytest.raises(StoreError, match="branch"):
        store.log_metric(run_id, "replays", "psnr", 1.0)
    with pytest.raises(StoreError, match="metric name"):
        store.log_metric(run_id, "replay", "PSNR dB", 1.0)
    with pytest.raises(StoreError, match="not a number"):
        store.log_metric(run_id, "replay", "psnr", "12")
    with pytest.raises(StoreError, match="rejected write"):
        store.log_metric(run_id + 99, "replay", "psnr", 1.0)
    with pytest.raises(StoreError, match="no run"):
        store.run(run_id + 99)
    with pytest.raises(StoreError, match="ends as"):
        store.finish_run(run_id, "running")
    with pytest.raises(StoreError, match="record_spec"):
        store.start_run(RunInfo(RunIdentity("f" * 64, study.setup_hash, BUILD, 0), "p", "s", PROVENANCE))
    assert store.metrics(run_id) == []  # nothing half-written


def test_find_run_prefers_finished_then_newest(store, study):
    profile = study.profiles[0]
    first = start(store, study, profile, seed=0)
    store.finish_run(first, "failed", error="oom")
    second = start(store, study, profile, seed=0)
    ident = store.run(first).identity
    assert store.find_run(ident).run_id == second  # running beats failed
    store.finish_run(second)
    assert store.find_run(ident).run_id == second
    assert store.find_run(ident, statuses=("failed",)).run_id == first
    assert store.find_run(RunIdentity(profile.spec_hash, study.setup_hash, BUILD, 5)) is None
