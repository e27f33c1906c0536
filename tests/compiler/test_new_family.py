"""Adding a memory family is one new package plus one line in the registry.

A copy of the package gets a throwaway family, ``storage last``: the patch tokens of the
newest remembered frame, scaled, plus a learned bias. Nothing else of the copy changes; in a
subprocess that imports the copy, the language accepts (and checks) the new storage and its
argument, lowers it, counts its parameters, builds it and runs one forward and backward.
"""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAMILY = '''\
"""``storage last``: the newest remembered frame's patch tokens, scaled, plus a learned bias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from echodsl.families.base import Family, StorageConfig, history_fields, reject_compression
from echodsl.families.history import HISTORY
from echodsl.params import Param, Range


@dataclass(frozen=True)
class LastMemory(StorageConfig):
    kind: ClassVar[str] = "last"
    scale: float = 1.0


class LastFamily(Family):
    storage = "last"
    config = LastMemory
    arguments = {**HISTORY, "scale": Param("float", 1.0, Range(lo=0, lo_open=True), doc="token scale")}
    default_readout = {"variant": "cross_attention", "args": {"heads": 4, "dedicated": False}}
    readouts = ("cross_attention",)

    def name(self, profile) -> str:
        return "last"

    def lower(self, profile, backbone) -> LastMemory:
        reject_compression(profile)
        return LastMemory(**history_fields(profile), scale=float(profile.storage["scale"]))

    def tokens(self, config, backbone) -> int:
        return backbone.tokens_per_frame

    def parameters(self, config, backbone) -> int:
        return backbone.dim  # the bias

    def build(self, config, backbone):
        from echodsl.families.last.storage import LastStorage

        return LastStorage(backbone.dim, config.scale)


FAMILY = LastFamily()
'''

STORAGE = '''\
"""The ``last`` storage module. Letters: B batch, M memory frames, n tokens per frame, D width."""

import torch
from torch import nn

from echodsl.memory.base import MemoryState, MemoryTokens


class LastStorage(nn.Module):
    kind = "last"

    def __init__(self, dim: int, scale: float):
        super().__init__()
        self.scale = scale
        self.bias = nn.Parameter(torch.zeros(dim))

    def init_weights(self) -> None:
        """Nothing to zero: the memory reaches the targets through a zero-initialised read-out."""

    def write(self, backbone, memory, state=None) -> MemoryState:
        b, m = memory.mask.shape
        tokens = backbone.patchify(memory.latents).view(b, m, -1, backbone.config.dim)  # (B, M, n, D)
        newest = (memory.mask * torch.arange(1, m + 1)).argmax(dim=1)  # (B,)
        last = tokens[torch.arange(b), newest] * self.scale + self.bias  # (B, n, D)
        return MemoryState(self.kind, {"tokens": last, "valid": memory.mask.any(dim=1)}, frames=m)

    def read(self, state: MemoryState) -> MemoryTokens:
        tokens = state["tokens"]  # (B, n, D)
        return MemoryTokens(tokens, state["valid"][:, None].expand(tokens.shape[:2]), slots=0)
'''

SCRIPT = '''\
import json

import torch

import echodsl
from echodsl.compiler import build, lower, make_memory
from echodsl.backbone import make_backbone
from echodsl.compiler.explain import example_inputs
from echodsl.errors import SpecError
from echodsl.lang.reference import render

assert echodsl.__file__.startswith(%(copy)r), echodsl.__file__
out = {"reference": "`last`" in render()}
try:
    echodsl.loads("profile bad { storage last(scale = 0) }")
except SpecError as e:
    out["bad"] = [d.code for d in e.errors]
try:
    echodsl.loads("profile bad { storage last() readout residual() }")
except SpecError as e:
    out["bad_readout"] = [d.code for d in e.errors]
profile = echodsl.loads("profile recall { storage last(k = 3, scale = 0.5) }").profiles["recall"]
out["family"] = profile.family
out["readout"] = profile.readout.to_json()
plan = lower(profile, "tiny")
out["storage"] = plan.storage.to_json()
out["tokens"] = [plan.memory_tokens, plan.backbone.tokens_per_frame]
torch.manual_seed(0)
model = build(plan, make_backbone("tiny"))
built = sum(p.numel() for m in make_memory(plan) if m is not None for p in m.parameters())
out["parameters"] = [plan.param_budget, built]
inputs, memory = example_inputs(model)
y = model(*inputs, memory=model.write_memory(memory))
y.square().mean().backward()
out["shape"] = [list(y.shape), list(inputs[0].shape)]
out["grad"] = model.storage.bias.grad is not None
print(json.dumps(out))
'''


def _copy_with_family(tmp_path: Path) -> Path:
    copy = tmp_path / "echodsl"
    shutil.copytree(ROOT / "echodsl", copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "grammar", copy / "grammar")  # shipped as echodsl.grammar
    package = copy / "families" / "last"
    package.mkdir()
    (package / "__init__.py").write_text(FAMILY)
    (package / "storage.py").write_text(STORAGE)
    registry = copy / "families" / "__init__.py"
    text = registry.read_text()
    line = '    "state": state.FAMILY,\n'
    assert text.count(line) == 1
    # The one line in the registry (with its import).
    registry.write_text(text.replace(line, line + '    "last": last.FAMILY,\n')
                        .replace("from echodsl.families import frames, none, state, summary",
                                 "from echodsl.families import frames, last, none, state, summary"))
    return copy


def test_a_new_family_is_one_package_and_one_registry_line(tmp_path):
    copy = _copy_with_family(tmp_path)
    script = textwrap.dedent(SCRIPT % {"copy": str(copy)})
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["reference"]  # the language reference lists the new storage
    # its argument's range and the read-outs it takes are checked: out of range, incompatible clauses
    assert out["bad"] == ["E106"] and out["bad_readout"] == ["E109"], out
    assert out["family"] == "last"
    assert out["readout"] == {"variant": "cross_attention", "args": {"heads": 4, "dedicated": False}}
    assert out["storage"]["kind"] == "last" and out["storage"]["scale"] == 0.5
    assert out["storage"]["memory_frames"] == 2
    assert out["tokens"][0] == out["tokens"][1]
    assert out["parameters"][0] == out["parameters"][1] > 0
    assert out["shape"][0] == out["shape"][1]
    assert out["grad"]
