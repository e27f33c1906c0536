"""Loading a trained run back: a run directory (or one of its checkpoints) -> live model.

A run directory is self-describing: ``run.json`` holds the resolved profile and the setup,
so evaluation never needs the original spec file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from echodsl.compiler import MemoryPlan
from echodsl.errors import RuntimeFailure, UsageError
from echodsl.lang.model import Profile
from echodsl.runtime import assemble
from echodsl.runtime.checkpoint import list_checkpoints, read_checkpoint


@dataclass
class TrainedRun:
    """A run directory loaded back for evaluation or export: the ``RunConfig`` its
    ``run.json`` holds, the model at ``checkpoint`` (training step ``step``), and the
    identity ``run.json`` recorded (``spec_hash``, ``setup_hash``, ``build_hash``, ``seed``)."""

    run: assemble.RunConfig
    plan: MemoryPlan
    model: torch.nn.Module
    step: int
    directory: Path
    checkpoint: Path
    identity: dict


def load_trained(path: str | Path, device: str = "cpu") -> TrainedRun:
    """``path``: a run directory (newest checkpoint) or a ``step_*.safetensors`` inside one."""
    path = Path(path)
    if path.is_file():
        ckpt_path, directory = path, path.parent.parent
    elif path.is_dir():
        found = list_checkpoints(path / "checkpoints")
        if not found:
            raise UsageError(f"{path} holds no checkpoints", hint="train it first with `echodsl train`")
        ckpt_path, directory = found[-1], path
    else:
        raise UsageError(f"no such run directory or checkpoint: {path}")
    meta_path = directory / "run.json"
    if not meta_path.is_file():
        raise UsageError(f"{directory} has no run.json: not an echodsl run directory")
    meta = json.loads(meta_path.read_text())
    profile = Profile.from_canonical(meta["profile"], meta["canonical"])
    if profile.spec_hash != meta["spec_hash"]:
        raise RuntimeFailure(f"{meta_path}: canonical spec does not match its spec_hash (edited by hand?)")
    run = assemble.RunConfig.from_json(profile, meta["setup"])
    plan = assemble.plan_of(run)
    model = assemble.make_model(plan, run.seed)
    ckpt = read_checkpoint(ckpt_path)
    state = {k[len("model."):]: v for k, v in ckpt.tensors.items() if k.startswith("model.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeFailure(f"{ckpt_path} does not fit profile {profile.name}: missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]}")
    model.to(device).eval()
    identity = {k: meta.get(k) for k in ("spec_hash", "setup_hash", "build_hash", "seed")}
    return TrainedRun(run, plan, model, ckpt.step, directory, ckpt_path, identity)
