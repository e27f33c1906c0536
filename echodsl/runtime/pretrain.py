"""One shared backbone per study: trained once as I2V, then fine-tuned by every profile.

This is the study's own structure — one pretrained video model, memory added and
fine-tuned on top — and what makes a CPU study affordable: ten runs stop paying ten times
for learning to draw the world. ``train flow(pretrain = P)`` asks for it: the backbone is
the I2V profile trained for P steps with the study's recipe (lr, batch, shift, data) and
seed 0, whatever the run's seed, so every profile and seed starts from the same weights
and only the memory differs.

The result is a normal run directory under ``<cache>/pretrained-<hash>``, where the hash
covers everything that decides its weights (backbone, data, recipe, P, build). A file lock
makes concurrent workers train it once; an interrupted pretraining resumes from its
checkpoint like any run.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from echodsl.lang.model import Profile, Variant, sha256_hex
from echodsl.lang.schema import default_clause
from echodsl.runtime import assemble
from echodsl.runtime.checkpoint import list_checkpoints
from echodsl.runtime.trainer import TrainOptions, Trainer

PRETRAIN_SEED = 0  # one backbone for every seed: seeds then vary only the fine-tuning


def i2v_profile() -> Profile:
    """The anchor-only profile the shared backbone is trained as."""
    none = Variant(variant="none")
    return Profile(name="pretrain_i2v", storage=none, compression=none, readout=none, recurrence=none,
                   action=Variant.from_json(default_clause("action")))


def pretrain_run(run: assemble.RunConfig) -> assemble.RunConfig:
    """The I2V run whose backbone ``run`` starts from: same setup, ``steps = pretrain``."""
    args = {name: value for name, value in run.train.args.items() if name != "pretrain"}
    args.update(steps=run.flow.pretrain, pretrain=0, probe_every=0)
    return assemble.RunConfig(i2v_profile(), run.backbone, run.data, Variant(variant=run.train.variant, args=args),
                              run.eval, PRETRAIN_SEED, run.base_dir, run.study, run.vae)


def pretrain_dir(run: assemble.RunConfig, cache: Path) -> Path:
    """The cache entry of ``run``'s shared backbone."""
    return _entry(pretrain_run(run), cache)


def _entry(base: assemble.RunConfig, cache: Path) -> Path:
    from echodsl.compiler import build_hash

    key = sha256_hex({"setup": base.study_setup(), "build": build_hash()})
    return cache / f"pretrained-{key[:16]}"


def ensure_pretrained(run: assemble.RunConfig, cache: Path, *, progress: bool = True) -> Path | None:
    """The shared backbone's checkpoint for ``run`` (trained now if missing); None when the
    run asks for no pretraining."""
    if not run.flow.pretrain:
        return None
    base = pretrain_run(run)
    out = _entry(base, cache)
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second worker waits here, then finds it done
        done = out / "done.json"
        if not done.is_file():
            resume = bool(list_checkpoints(out / "checkpoints"))
            result = Trainer(base, TrainOptions(out=out, resume=resume, progress=progress,
                                                checkpoint_every=max(base.flow.steps // 4, 1))).fit()
            done.write_text(json.dumps({"steps": result.steps, "final_loss": result.final_loss,
                                        "steps_per_s": result.steps_per_s}))
    return list_checkpoints(out / "checkpoints")[-1]
