"""The peak-memory estimate against torch's memory profiler on CPU (tiny preset, a real
training step: forward, backward, AdamW), and the estimate of the paper's profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.profiler import ProfilerActivity, profile
from torch.profiler._memory_profiler import Action

import echodsl
from echodsl.cli.memory import memory_lines
from echodsl.compiler import lower
from echodsl.compiler.memory_estimate import estimate
from echodsl.presets import backbone_config
from echodsl.runtime import assemble
from echodsl.runtime.trainer import FlowLoss

ROOT = Path(__file__).resolve().parents[2]
TINY = echodsl.load(ROOT / "tests" / "runtime" / "tiny.mem")


def profiled_peak(plan, batch: int, checkpointing: str) -> int:
    """Peak CPU bytes of the second training step (AdamW states exist), per torch's profiler."""
    model = assemble.make_model(plan, 0)
    model.checkpoint_blocks = checkpointing == "blocks"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_module = FlowLoss(model)
    bb, g = plan.backbone, torch.Generator().manual_seed(0)
    f, c, (h, w), m = bb.segment_frames, bb.latent_channels, bb.latent_hw, plan.memory_frames
    batch_tensors = (torch.randn(batch, f, c, h, w, generator=g), torch.randn(batch, f, c, h, w, generator=g),
                     torch.rand(batch, generator=g), torch.zeros(batch, f, 12),
                     torch.randn(batch, bb.text_len, bb.text_dim, generator=g),
                     torch.randn(batch, m, c, h, w, generator=g), torch.zeros(batch, m, 12),
                     torch.ones(batch, m, dtype=torch.bool))

    def step():
        loss_module(*batch_tensors).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
        step()
    current = peak = 0
    for _, action, (key, _), size in prof._memory_profile().timeline:
        if key.device.type != "cpu":
            continue
        if action in (Action.PREEXISTING, Action.CREATE):
            current += size
        elif action == Action.DESTROY:
            current -= size
        peak = max(peak, current)
    return peak


@pytest.mark.parametrize("name", ["i2v", "ctx_k3", "scan"])
@pytest.mark.parametrize("checkpointing", ["none", "blocks"])
def test_estimate_is_within_a_quarter_of_the_profiled_peak(name, checkpointing):
    plan = lower(TINY.profiles[name], backbone_config("tiny"))
    # CPU: fp32 throughout, no autocast; PyTorch's CPU SDPA kernel keeps no attention matrix
    guess = estimate(plan, batch=2, checkpointing=checkpointing, autocast=False, attention="sdpa")
    measured = profiled_peak(plan, 2, checkpointing)
    assert 0.75 <= guess.total / measured <= 1.25, (guess.to_json(), measured)


def test_checkpointing_and_bf16_shrink_the_estimate_as_expected():
    plan = lower(TINY.profiles["ctx_k3"], backbone_config("wan2_1_1_3b"))
    full = estimate(plan, parameters=1_000_000)
    ckpt = estimate(plan, checkpointing="blocks", parameters=1_000_000)
    bf16 = estimate(plan, checkpointing="blocks", dtype="bf16", parameters=1_000_000)
    assert ckpt.activations < full.activations / 5
    assert bf16.weights * 2 == ckpt.weights and bf16.optimizer * 2 == ckpt.optimizer
    math = estimate(plan, attention="math", parameters=1_000_000)
    assert math.activations > full.activations  # the quadratic fallback keeps (H, N, S) per block


@pytest.fixture
def unfit_paper(tmp_path) -> Path:
    """specs/ with the paper's recipe stripped of its activation checkpointing (does not fit 80 GB)."""
    for spec in (ROOT / "specs").glob("*.mem"):
        text = spec.read_text(encoding="utf-8")
        (tmp_path / spec.name).write_text(text.replace(", checkpointing = blocks)", ")"), encoding="utf-8")
    assert "checkpointing = blocks)" not in (tmp_path / "paper.mem").read_text(encoding="utf-8")
    return tmp_path / "paper.mem"


def test_the_paper_recipe_fits_80_gb_with_its_checkpointing():
    lines, fits, _ = memory_lines(ROOT / "specs" / "paper.mem", "context_k20", "table1", "flash", 80.0)
    assert fits and "context_k20:" in lines[1] and "of 80 GB" in lines[1], lines


def test_every_paper_profile_is_estimated_against_80_gb(unfit_paper):
    lines, fits, _ = memory_lines(unfit_paper, "context_k20", "table1", "flash", 80.0)
    assert "context_k20:" in lines[1] and "of 80 GB" in lines[1] and "35200 tokens" in lines[1]
    assert not fits and "with checkpointing = blocks" in lines[2] and "(fits;" in lines[2]


def test_a_profile_that_cannot_fit_is_a_dry_run_warning(unfit_paper):
    from types import SimpleNamespace

    from echodsl.cli.memory import dry_run_warnings
    from echodsl.runtime.assemble import RunConfig

    doc = echodsl.load(unfit_paper)
    study = doc.studies["table1"]
    pairs = [SimpleNamespace(run=RunConfig.from_study(study, study.profile(name), 0, unfit_paper.parent))
             for name in ("context_k20", "i2v")]
    warnings = dry_run_warnings(pairs)
    assert len(warnings) == 2 and warnings[0].startswith("warning: profile context_k20 needs about 195")
    assert "with flow(checkpointing = blocks) it needs 33.7 GB" in warnings[0]
    tiny = TINY.studies["tiny"]
    assert dry_run_warnings([SimpleNamespace(run=RunConfig.from_study(tiny, tiny.profile("ctx_k3"), 0, ROOT))]) == []


def test_explain_memory_on_the_command_line(unfit_paper):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "echodsl", "explain", str(unfit_paper),
                           "--profile", "context_k20", "--memory", "--json"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr  # the recipe without checkpointing does not fit 80 GB
    data = json.loads(done.stdout)
    assert data["fits"] is False and data["estimates"][1]["checkpointing"] == "blocks"
    assert data["estimates"][1]["total"] < 80e9 < data["estimates"][0]["total"]
