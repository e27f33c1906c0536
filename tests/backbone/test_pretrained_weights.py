"""Pretrained transformer weights through the spec: a diffusers folder and the release's
single file load into the backbone, step 0 is the loaded model exactly, the bytes' sha256
is part of the setup, and a checkpoint for another preset is one clean error line."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import echodsl
from echodsl.backbone import WanBackbone, backbone_config
from echodsl.memory.base import MemoryInput
from echodsl.runtime import assemble

from release_format import save_release

SPEC = """
profile i2v {{}}

profile ctx_k3 {{
    storage     frames(k = 3, select = fov(samples = 64))
}}

profile spatial {{
    storage     summary(grid = 2x2)
}}

study pre {{
    backbone    wan(preset = tiny, weights = "{weights}")
    data        world(scenes = 2)
    train       flow(steps = 2, lr = 1e-3, batch = 1, shift = 1)
    profiles    i2v, ctx_k3, spatial
}}
"""


def _random_backbone(preset: str = "tiny", seed: int = 7) -> WanBackbone:
    torch.manual_seed(seed)
    bb = WanBackbone(backbone_config(preset))
    with torch.no_grad():
        for p in bb.dit.parameters():  # every tensor non-trivial, gates included
            p.normal_(0, 0.05)
    return bb


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[WanBackbone, dict[str, Path]]:
    root = tmp_path_factory.mktemp("weights")
    bb = _random_backbone()
    bb.dit.save_pretrained(root / "diffusers")
    return bb, {"diffusers": root / "diffusers",
                "original": save_release(bb.dit, root / "release" / "diffusion_pytorch_model.safetensors")}


def _run(spec_dir: Path, weights: Path, profile: str = "ctx_k3") -> assemble.RunConfig:
    doc = echodsl.loads(SPEC.format(weights=weights))
    study = doc.studies["pre"]
    return assemble.RunConfig.from_study(study, study.profile(profile), 0, spec_dir)


@pytest.mark.parametrize("fmt", ["diffusers", "original"])
def test_step_zero_is_the_loaded_model(saved, fmt, tmp_path):
    """A gated memory (spatial summary) and the action conditioning start at zero: the model
    with its memory written is the loaded transformer exactly. (Context-as-Memory's ungated
    joint read-out reads memory from step 0 by design; without memory it is exact too.)"""
    reference, paths = saved
    run = _run(tmp_path, paths[fmt], "spatial")
    model = assemble.make_model(assemble.plan_of(run), run.seed, assemble.weights_of(run),
                                run.backbone["weights_sha256"])
    assert model.weights_report.format == fmt
    assert model.weights_report.missing == () and model.weights_report.unexpected == ()
    loaded = model.backbone.dit.state_dict()
    for key, value in reference.dit.state_dict().items():
        assert torch.equal(loaded[key], value), key

    g = torch.Generator().manual_seed(1)
    latents = torch.randn(1, 5, 3, 32, 32, generator=g)  # (B, F, C, h, w)
    timesteps = torch.tensor([[0.0, 500.0, 500.0, 500.0, 500.0]])
    actions = torch.randn(1, 5, 12, generator=g) * 0.1
    text = torch.randn(1, 8, 32, generator=g)
    memory_in = MemoryInput(torch.randn(1, 3, 3, 32, 32, generator=g), torch.randn(1, 3, 12, generator=g) * 0.1,
                            torch.ones(1, 3, dtype=torch.bool))
    with torch.no_grad():
        memory = model.write_memory(memory_in)
        out = model(latents, timesteps, actions, text, memory)
        want = reference(latents, timesteps, text)
        context = _run(tmp_path, paths[fmt], "ctx_k3")
        ctx_model = assemble.make_model(assemble.plan_of(context), 0, assemble.weights_of(context))
        no_memory = ctx_model(latents, timesteps, actions, text)
    assert torch.equal(out, want)  # every memory and action gate is zero: bit for bit
    assert torch.equal(no_memory, want)


def test_the_weights_bytes_are_part_of_the_setup(saved, tmp_path):
    _, paths = saved
    release = _run(tmp_path, paths["original"])
    folder = _run(tmp_path, paths["diffusers"])
    assert release.backbone["weights_sha256"] == hashlib.sha256(paths["original"].read_bytes()).hexdigest()
    assert release.setup_hash != folder.setup_hash
    assert release.study_setup()["backbone"]["args"]["weights_sha256"] in str(release.to_json())


def test_a_changed_file_after_planning_is_refused(saved, tmp_path):
    _, paths = saved
    run = _run(tmp_path, paths["original"])
    with pytest.raises(echodsl.errors.UsageError, match="changed since the study was planned"):
        assemble.make_model(assemble.plan_of(run), 0, assemble.weights_of(run), "0" * 64)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "echodsl", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_train_from_the_release_file_and_resume(saved, tmp_path):
    _, paths = saved
    spec = tmp_path / "pre.mem"
    spec.write_text(SPEC.format(weights=paths["original"]))
    done = _cli("train", str(spec), "--profile", "ctx_k3", "--steps", "1", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resumed = _cli("train", str(spec), "--profile", "ctx_k3", "--out", "run", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "trained 2 steps" in resumed.stdout
    run_json = (tmp_path / "run" / "run.json").read_text()
    assert hashlib.sha256(paths["original"].read_bytes()).hexdigest() in run_json


def test_a_checkpoint_for_another_preset_is_one_clean_error_line(tmp_path):
    wrong = save_release(_random_backbone("small").dit, tmp_path / "small" / "diffusion_pytorch_model.safetensors")
    spec = tmp_path / "pre.mem"
    spec.write_text(SPEC.format(weights=wrong))
    failed = _cli("train", str(spec), "--profile", "ctx_k3", "--out", "run", cwd=tmp_path)
    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in failed.stderr, failed.stderr
    named = re.search(r"do not fit this preset: (\S+) is \((.*?)\) in the file, \((.*?)\) in the model", lines[0])
    assert named and named.group(1) in _random_backbone().dit.state_dict(), lines[0]
