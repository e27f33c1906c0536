"""Training that fits the card: activation checkpointing per block, gradient accumulation
and bf16 parameters change memory, not the recipe's numbers (to float tolerance on CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import echodsl
from echodsl.errors import UsageError
from echodsl.runtime import assemble
from echodsl.runtime.trainer import Trainer, TrainOptions

SPEC = Path(__file__).parent / "tiny.mem"


def _trainer(tmp_path: Path, name: str, profile: str = "ctx_k3", **overrides) -> Trainer:
    study = echodsl.load(SPEC).studies["tiny"]
    run = assemble.RunConfig.from_study(study, study.profile(profile), 0, SPEC.parent, overrides=overrides)
    trainer = Trainer(run, TrainOptions(out=tmp_path / name, progress=False, device="cpu"))
    trainer.prepare_out()
    return trainer


def _steps(trainer: Trainer, n: int = 2) -> list[float]:
    return [trainer.train_step()[0] for _ in range(n)]


def _max_param_diff(a: Trainer, b: Trainer) -> float:
    return max(float((p.detach().float() - q.detach().float()).abs().max()) for p, q in zip(a.model.parameters(), b.model.parameters()))


@pytest.mark.parametrize("profile", ["ctx_k3", "spatial"])
def test_checkpointing_blocks_gives_the_same_losses_and_updates(tmp_path, profile):
    plain = _trainer(tmp_path, "plain", profile)
    recomputed = _trainer(tmp_path, "ckpt", profile, checkpointing="blocks")
    assert recomputed.model.checkpoint_blocks and not plain.model.checkpoint_blocks
    assert _steps(recomputed) == pytest.approx(_steps(plain), rel=1e-5, abs=1e-7)
    assert _max_param_diff(plain, recomputed) < 1e-5


def test_checkpointing_frees_block_activations(tmp_path):
    """Tensors saved for backward: with blocks recomputed, only block inputs stay alive."""
    sizes = {}
    for name, over in (("plain", {}), ("ckpt", {"checkpointing": "blocks"})):
        trainer = _trainer(tmp_path, name, **over)
        saved = []
        pack = lambda t: (saved.append(t.numel() * t.element_size()), t)[1]  # noqa: E731
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            trainer.loss_module(*trainer.batch(0))
        sizes[name] = sum(saved)
    assert sizes["ckpt"] < 0.5 * sizes["plain"], sizes


def test_accumulation_matches_the_whole_batch(tmp_path):
    whole = _trainer(tmp_path, "whole")  # batch 2 in one pass
    split = _trainer(tmp_path, "split", accumulate=2)  # two micro-batches of 1
    start = [p.detach().clone() for p in whole.model.parameters()]
    assert _steps(split) == pytest.approx(_steps(whole), rel=1e-5, abs=1e-7)
    # Summing two micro-batches rounds differently from one pass, and AdamW divides by the
    # root of tiny second moments, so compare the difference with the size of the update.
    update = max(float((p.detach() - q).abs().max()) for p, q in zip(whole.model.parameters(), start))
    assert _max_param_diff(whole, split) < 0.02 * update


def test_accumulation_must_split_the_batch_evenly(tmp_path):
    with pytest.raises(UsageError, match="accumulate = 3"):
        _trainer(tmp_path, "bad", accumulate=3)


def test_bf16_parameters_train(tmp_path):
    trainer = _trainer(tmp_path, "bf16", dtype="bf16", checkpointing="blocks")
    assert {p.dtype for p in trainer.model.parameters()} == {torch.bfloat16}
    assert trainer.model.backbone.dit.rope.freqs_cos.dtype != torch.bfloat16  # buffers keep precision
    before = [p.detach().clone() for p in trainer.model.parameters()]
    losses = _steps(trainer)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert any(not torch.equal(b, p) for b, p in zip(before, trainer.model.parameters()))
