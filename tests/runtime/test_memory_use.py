"""Memory-use diagnostics and the shared pretrained backbone, through the public pieces:
the spec, RunConfig, the trainer, ``echodsl probe`` and ``echodsl study``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import echodsl
from echodsl.cli import main
from echodsl.errors import UsageError
from echodsl.runtime import assemble
from echodsl.runtime.memory_use import measure, return_segments
from echodsl.runtime.pretrain import ensure_pretrained, pretrain_dir
from echodsl.runtime.trainer import TrainOptions, Trainer

SPEC = """
profile i2v {}
profile ctx { storage frames(k = 3, select = fov(samples = 64)) }
profile ctx_zero {
    storage frames(k = 3, select = fov(samples = 64))
    readout joint(gate = zero)
}
profile scan {
    storage     state(dim = 16)
    recurrence  block_scan(block = 4x4, state = 4, every = 2)
}
study s {
    backbone    wan(preset = tiny)
    data        world(scenes = 2, detail = coarse, drift = 0.0)
    train       flow(steps = 3, lr = 1e-3, batch = 2, shift = 1, pretrain = 2)
    profiles    i2v, ctx, ctx_zero, scan
}
"""


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "s.mem"
    path.write_text(SPEC)
    return path


def _run(spec: Path, name: str) -> assemble.RunConfig:
    doc = echodsl.load(spec)
    return assemble.RunConfig.from_study(doc.study("s"), doc.profile(name), 0, spec.parent)


def _model(run):
    plan = assemble.plan_of(run)
    return assemble.make_model(plan, run.seed), plan


@pytest.mark.parametrize("name", ["i2v", "ctx_zero"])
def test_a_model_that_cannot_read_memory_gains_exactly_nothing(spec, name):
    run = _run(spec, name)
    model, plan = _model(run)
    use = measure(model, return_segments(run, plan, 2))
    assert use.gain == 0.0 and use.loss_with == use.loss_without
    if name == "ctx_zero":  # a zero gate: its separate memory softmax is still observable
        assert use.gate_abs == 0.0 and use.attn_memory is None
    else:
        assert use.gate_abs is None and use.attn_memory is None


def test_a_shared_softmax_reads_memory_from_the_first_step(spec):
    run = _run(spec, "ctx")
    model, plan = _model(run)
    segments = return_segments(run, plan, 3)
    use = measure(model, segments)
    assert use.gain != 0.0
    assert 0.0 < use.attn_memory < 1.0 and 0.0 < use.attn_memory_chance < 1.0
    assert 0.0 <= use.necessity <= 1.0
    # The memory the diagnostics hand over is what the retriever picks: real frames, masked padding.
    assert all(bool(seg.memory.mask.any()) for seg in segments)
    model.train()
    measure(model, segments)
    assert model.training, "diagnostics must leave the model in the mode they found it"


def test_removing_the_memory_is_what_changes_the_loss(spec):
    # The same model scored twice gives the same numbers: the noise and timesteps are fixed.
    run = _run(spec, "scan")
    model, plan = _model(run)
    segments = return_segments(run, plan, 2)
    assert measure(model, segments) == measure(model, segments)


def test_the_pretrained_backbone_is_trained_once_and_shared(spec, tmp_path):
    runs = [_run(spec, n) for n in ("i2v", "ctx", "scan")]
    first = ensure_pretrained(runs[0], tmp_path)
    assert first is not None and first.is_file()
    stamp = first.stat().st_mtime_ns
    # Every profile (and seed) of the setup maps to the same cache entry; it is not retrained.
    assert {pretrain_dir(r, tmp_path) for r in runs} == {first.parent.parent}
    assert ensure_pretrained(runs[1], tmp_path) == first and first.stat().st_mtime_ns == stamp
    trainers = [Trainer(r, TrainOptions(out=tmp_path / r.profile.name, init_from=first, progress=False))
                for r in runs]
    i2v, ctx = trainers[0].model, trainers[1].model
    for key, value in i2v.state_dict().items():  # backbone and action conditioning: identical
        assert torch.equal(value, ctx.state_dict()[key]), key
    fresh = assemble.make_model(assemble.plan_of(runs[1]), 0).state_dict()
    assert any(not torch.equal(v, fresh[k]) for k, v in ctx.state_dict().items() if k.startswith("backbone."))


def test_a_recipe_with_pretraining_refuses_to_start_without_the_backbone(spec, tmp_path):
    with pytest.raises(UsageError, match="pretrain"):
        Trainer(_run(spec, "ctx"), TrainOptions(out=tmp_path / "x", progress=False))


def test_probe_cli_reports_the_diagnostics_of_a_trained_run(spec, tmp_path):
    run = _run(spec, "ctx")
    init = ensure_pretrained(run, tmp_path / "cache")
    out = tmp_path / "ctx"
    Trainer(run, TrainOptions(out=out, init_from=init, progress=False)).fit()
    result = CliRunner().invoke(main, ["probe", str(out), "--cases", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format_version"] == "1.0" and data["cases"] == 2 and data["step"] == 3
    assert data["loss_without"] - data["loss_with"] == pytest.approx(data["gain"])
    text = CliRunner().invoke(main, ["probe", str(out), "--cases", "2"])
    assert text.exit_code == 0 and "memory gain" in text.output
