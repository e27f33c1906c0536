"""``compile_check``: build a profile, optionally ``torch.compile`` it, run one train step."""

from __future__ import annotations

import time
from typing import Any

import torch

from echodsl.backbone import make_backbone
from echodsl.compiler.explain import example_inputs
from echodsl.compiler.model import build, compile_model
from echodsl.compiler.plan import build_hash, lower
from echodsl.jsonout import envelope
from echodsl.lang.model import Profile
from echodsl.presets import backbone_config


def compile_check(profile: Profile, preset: str = "tiny", config: str | None = None, *,
                  compile: bool = True) -> dict[str, Any]:
    """One forward + backward, eager and (unless ``compile`` is False) compiled; times and agreement."""
    plan = lower(profile, backbone_config(preset, config))
    torch.manual_seed(0)
    model = build(plan, make_backbone(preset, config))
    inputs, memory = example_inputs(model)

    def step() -> tuple[torch.Tensor, float]:
        start = time.perf_counter()
        out = model(*inputs, memory=model.write_memory(memory))
        out.square().mean().backward()
        return out.detach(), time.perf_counter() - start

    eager, eager_s = step()
    result: dict[str, Any] = {
        "profile": profile.name, "spec_hash": profile.spec_hash, "build_hash": build_hash(),
        "preset": preset, "attention_backend": model.backbone.backend, "eager_step_s": round(eager_s, 4),
    }
    if compile:
        compile_model(model)
        compiled, first_s = step()
        result.update(compile_s=round(first_s, 2), max_abs_diff=float((compiled - eager).abs().max()),
                      prefixed_keys=sum("_orig_mod." in k for k in model.state_dict()))
    return envelope(result)
