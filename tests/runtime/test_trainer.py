"""The shared training recipe: loss goes down, resume is exact, torchrun matches one process."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import echodsl
from echodsl.runtime.session import resolve_run
from echodsl.runtime.trainer import TrainOptions, Trainer

SPEC = Path(__file__).with_name("tiny.mem")

ROOT = Path(__file__).resolve().parents[2]


def trainer(profile, study, out, **overrides):
    doc = echodsl.load(SPEC)
    run = resolve_run(doc, SPEC, profile, study, None, overrides)
    return Trainer(run, TrainOptions(out=out, progress=False, checkpoint_every=1000))


@pytest.mark.parametrize("profile", ["i2v", "ctx_k3"])
def test_loss_decreases_on_a_tiny_overfit_case(profile, tmp_path):
    result = trainer(profile, "overfit", tmp_path).fit()
    losses = [json.loads(line)["loss"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert result.steps == 40 and len(losses) == 40
    assert sum(losses[-8:]) / 8 < 0.7 * sum(losses[:8]) / 8, losses


def test_fit_returns_the_whole_runs_history_also_after_a_resume(tmp_path):
    doc = echodsl.load(SPEC)
    log = lambda: [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    first = Trainer(resolve_run(doc, SPEC, "i2v", "tiny", None, {"steps": 2}),
                    TrainOptions(out=tmp_path, progress=False, checkpoint_every=1)).fit()
    assert [s for s, _ in first.losses] == [1, 2] and first.history == log()
    resumed = Trainer(resolve_run(doc, SPEC, "i2v", "tiny", None, {"steps": 3}),
                      TrainOptions(out=tmp_path, resume=True, progress=False, checkpoint_every=1)).fit()
    # steps 1-2 restored from the run's own log, step 3 trained now
    assert [s for s, _ in resumed.losses] == [1, 2, 3] and resumed.history[:2] == first.history
    assert resumed.history == log()


def test_spike_rejection_skips_and_counts(tmp_path):
    t = trainer("i2v", "tiny", tmp_path, steps=30)
    t.prepare_out()
    for _ in range(25):
        t.train_step()
    before = [p.detach().clone() for p in t.model.parameters()]
    t.accepted = [1e-6] * len(t.accepted)  # make the next loss a huge spike relative to the mean
    loss, skipped = t.train_step()
    assert skipped and t.skipped == 1
    assert all(torch.equal(a, b) for a, b in zip(before, t.model.parameters()))


def _train_cli(out, steps, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return [sys.executable, "-m", "echodsl", "train", str(SPEC), "--profile", "ctx_k3", "--study", "tiny",
            "--steps", str(steps), "--out", str(out), "--checkpoint-every", "2", "--json", *extra], env


def _final_model(out):
    ckpt = sorted((out / "checkpoints").glob("step_*.safetensors"))[-1]
    return {k: v for k, v in load_file(str(ckpt)).items() if k.startswith("model.")}


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    steps = 8
    cmd, env = _train_cli(tmp_path / "clean", steps)
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    cmd, env = _train_cli(tmp_path / "killed", steps)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = tmp_path / "killed" / "checkpoints" / "step_00000004.safetensors"
    deadline = time.time() + 600
    while not target.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.exists(), "the run never reached its step-4 checkpoint"
    assert not (tmp_path / "killed" / "checkpoints" / f"step_{steps:08d}.safetensors").exists()
    cmd, env = _train_cli(tmp_path / "killed", steps, "--resume")
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    clean, resumed = _final_model(tmp_path / "clean"), _final_model(tmp_path / "killed")
    assert clean.keys() == resumed.keys()
    assert all(torch.equal(clean[k], resumed[k]) for k in clean), "resume must be bitwise exact"
    log = lambda d: [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert log(tmp_path / "clean") == log(tmp_path / "killed")


def test_resume_refuses_another_profile(tmp_path):
    cmd, env = _train_cli(tmp_path / "a", 2)
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    cmd = [c if c != "ctx_k3" else "i2v" for c in cmd] + ["--resume"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "different spec" in proc.stdout


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    cmd, env = _train_cli(tmp_path / "a", 2)
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    (tmp_path / "a" / "checkpoints" / "step_00000002.safetensors").write_bytes(b"not a checkpoint")
    proc = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=600)
    # The checkpoint no longer matches the sha256 written beside it: a clear error naming it.
    assert proc.returncode == 2 and "step_00000002.safetensors" in proc.stdout and "Traceback" not in proc.stderr
    assert "sha256" in proc.stdout


def test_torchrun_two_processes_match_one(tmp_path):
    """Global batch 2: one process with both samples vs two gloo processes with one each."""
    steps = 3
    cmd, env = _train_cli(tmp_path / "single", steps)
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    cmd, env = _train_cli(tmp_path / "ddp", steps)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "echodsl"] + cmd[3:]
    proc = subprocess.run(torchrun, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    single, ddp = _final_model(tmp_path / "single"), _final_model(tmp_path / "ddp")
    worst = max((single[k] - ddp[k]).abs().max().item() for k in single)
    assert worst < 1e-4, worst
