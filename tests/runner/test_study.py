"""`echodsl study` end to end on a miniature study: everything recorded, nothing retrained."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from echodsl.store import Store

HERE = Path(__file__).parent
FAST = ["--eval-cases", "1", "--eval-steps", "1"]


def study(spec, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "echodsl", "study", str(spec), "--study", "mini", *extra],
                          capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture
def spec(tmp_path):
    shutil.copy(HERE / "mini.mem", tmp_path / "mini.mem")
    return tmp_path / "mini.mem"


def test_study_runs_records_compares_and_skips_on_rerun(spec):
    plan = study(spec, "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    assert [r["status"] for r in json.loads(plan.stdout)["runs"]] == ["new", "new"]

    first = study(spec, *FAST)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "R-P" in first.stdout and "i2v" in first.stdout and "ctx" in first.stdout
    with Store.open(spec.parent / "echodsl.db", create=False) as store:
        runs = store.runs(study="mini")
        assert sorted(r.profile for r in runs) == ["ctx", "i2v"] and {r.status for r in runs} == {"finished"}
        metrics = {(m.branch, m.name, m.chunk) for m in store.metrics(runs[0].run_id)}
        assert ("replay", "psnr", None) in metrics and ("replay", "psnr", 0) in metrics
        assert ("return_in", "psnr", None) in metrics and ("train", "loss", None) in metrics
        assert store.cases(runs[0].run_id) and store.artifacts(runs[0].run_id)
        from echodsl.store.definitions import definitions_of
        defined = definitions_of(store, [runs[0].run_id])[runs[0].run_id]
        assert defined[("replay", "psnr")].label == "psnr/v1 at 32x32"  # what the values mean travels with them
    assert "metric definitions: R-P psnr/v1 at 32x32, R-S ssim/v1 at 32x32" in first.stdout
    mtimes = {p: p.stat().st_mtime for p in spec.parent.glob("runs/mini/*/checkpoints/*.safetensors")}

    again = study(spec, "--json", *FAST)
    assert again.returncode == 0, again.stderr[-2000:]
    assert [r["status"] for r in json.loads(again.stdout)["runs"]] == ["skipped", "skipped"]
    assert {p: p.stat().st_mtime for p in mtimes} == mtimes  # nothing retrained
    with Store.open(spec.parent / "echodsl.db", create=False) as store:
        assert len(store.runs(study="mini")) == 2


def test_parallel_jobs_and_unknown_study(spec):
    bad = study(spec.with_name("nope.mem"))
    assert bad.returncode == 2
    wrong = subprocess.run([sys.executable, "-m", "echodsl", "study", str(spec), "--study", "mnii", "--dry-run"],
                           capture_output=True, text=True)
    assert wrong.returncode == 2 and "did you mean `mini`" in wrong.stderr
    jobs = study(spec, "--jobs", "2", "--json", *FAST)
    assert jobs.returncode == 0, jobs.stderr[-2000:]
    assert sorted(r["status"] for r in json.loads(jobs.stdout)["runs"]) == ["finished", "finished"]


def test_interrupted_run_resumes_from_its_checkpoint(spec):
    from echodsl.compiler import build_hash
    from echodsl.lang.api import load
    from echodsl.runner.plan import plan_study
    from echodsl.store import RunIdentity, RunInfo, collect_provenance

    pair = plan_study(load(spec), spec, "mini")[1]
    # a run that was killed mid-way: a checkpoint on disk, a stale "running" row in the store
    train = subprocess.run([sys.executable, "-m", "echodsl", "train", str(spec), "--profile", "ctx", "--study", "mini",
                            "--steps", "1", "--out", str(pair.run_dir), "--checkpoint-every", "1", "--json"],
                           capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr
    with Store.open(spec.parent / "echodsl.db", stale_after_s=0.01) as store:
        doc = load(spec)
        store.record_setup(doc.study("mini"))
        store.record_spec(doc.profile("ctx"))
        identity = RunIdentity(pair.spec_hash, pair.setup_hash, build_hash(), 0)
        run_id = store.start_run(RunInfo(identity, "ctx", "mini", collect_provenance("cpu")))
        store.log_artifact(run_id, next((pair.run_dir / "checkpoints").glob("*.safetensors")), kind="checkpoint")
        time.sleep(0.05)
        assert store.mark_interrupted() == [run_id]  # its heartbeat went stale
    plan = study(spec, "--dry-run", "--json")
    assert [r["status"] for r in json.loads(plan.stdout)["runs"]] == ["new", "resume"]
    result = study(spec, "--json", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    log = [json.loads(x) for x in (pair.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if "loss" in e] == [1, 2]  # step 1 kept, only step 2 trained anew
    with Store.open(spec.parent / "echodsl.db", create=False) as store:
        runs = store.runs(study="mini")
        assert len(runs) == 2 and {r.status for r in runs} == {"finished"}  # the interrupted row was resumed
        assert run_id in {r.run_id for r in runs}


def test_slurm_launcher_through_submitit_local_executor(spec, tmp_path):
    """--launcher slurm goes through submitit; its LocalExecutor runs the same worker path."""
    pytest.importorskip("submitit")
    from echodsl.lang.api import load
    from echodsl.runner.launch import LaunchOptions, run_pairs
    from echodsl.runner.plan import plan_study
    from echodsl.eval.plan import EvalSizes

    pairs = plan_study(load(spec), spec, "mini")[:1]
    options = LaunchOptions(launcher="slurm", slurm_executor="local", slurm_folder=tmp_path / "slurm",
                            sizes=EvalSizes(cases=1, steps=1))
    store_url = str(spec.parent / "echodsl.db")
    outcomes = run_pairs(pairs, store_url, options)
    assert [o.status for o in outcomes] == ["finished"], outcomes
    with Store.open(store_url, create=False) as store:
        assert [r.status for r in store.runs(study="mini")] == ["finished"]


def test_run_study_is_one_library_call_that_prints_nothing(spec, capfd):
    """plan -> claim -> train -> evaluate -> record -> compare -> report in one call; the
    caller gets the comparison and the report's path, and shows them itself."""
    from dataclasses import replace

    from echodsl.eval.plan import EvalSizes
    from echodsl.runner.launch import LaunchOptions
    from echodsl.runner.study import StudyRequest, run_study

    heard = []
    request = StudyRequest(spec, "mini", launch=LaunchOptions(sizes=EvalSizes(cases=1, steps=1), device="cpu"))
    result = run_study(request, heard.append)
    assert capfd.readouterr().out == ""
    assert [o.status for o in heard] == [o.status for o in result.outcomes] == ["finished", "finished"]
    assert result.status == {p: "finished" for p in result.pairs} and not result.failed
    assert sorted(row["profile"] for row in result.comparison.document["rows"]) == ["ctx", "i2v"]
    assert result.comparison.document["setup_hash"] == result.pairs[0].setup_hash
    assert result.report.is_file() and result.report_error is None
    assert result.report.parent == spec.parent / "report" / "mini"
    with Store.open(spec.parent / "echodsl.db", create=False) as store:
        assert {r.run_id for r in store.runs(study="mini")} == {o.run_id for o in result.outcomes}
    plan = run_study(replace(request, dry_run=True))  # planned again: every pair is done, nothing run
    assert list(plan.status.values()) == ["done", "done"] and plan.dry_run and not plan.outcomes
    assert plan.comparison is None and plan.report is None and plan.confounds == []
