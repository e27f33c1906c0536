"""Adding a memory family is one new package plus one line in the registry.

A copy of the package gets the throwaway family docs/contracts.md shows, ``storage last``:
the patch tokens of the newest remembered frame, scaled, plus a learned bias. Nothing else
of the copy changes; in a subprocess that imports the copy, the language accepts (and
checks) the new storage and its argument, lowers it, counts its parameters, builds it and
runs one forward and backward.
"""

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONTRACTS = ROOT / "docs" / "contracts.md"


def _documented(path: str) -> str:
    """The code block of docs/contracts.md that starts with ``# <path>``: the test runs the
    family the documentation shows, so the two cannot drift apart."""
    blocks = re.findall(r"```python\n(.*?)```", CONTRACTS.read_text(), flags=re.S)
    (block,) = [b for b in blocks if b.startswith(f"# {path}\n")]
    return block


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
    (package / "__init__.py").write_text(_documented("echodsl/families/last/__init__.py"))
    (package / "storage.py").write_text(_documented("echodsl/families/last/storage.py"))
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
