"""Golden plans and explain summaries: every profile of every spec the project ships.

The safety net for changes to lowering and building: a refactor that changes what any
profile lowers to, how many parameters it adds or which modules it builds shows up here
as a diff of one golden file. ``pytest --update-goldens`` rewrites them (then review the
diff: each change must be intended).

    plans/<spec>.plans.json     lower(profile) on the tiny and the wan2_1_1_3b presets
    plans/<spec>.explain.json   explain(profile) on the tiny preset, minus what depends
                                on the machine (attention backend, build hash, dynamo)
"""

import json
from pathlib import Path

import pytest

import echodsl
from echodsl.compiler import lower
from echodsl.compiler.explain import explain

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "plans"
SPECS = sorted((ROOT / "specs").glob("*.mem")) + [
    ROOT / "tests" / "golden" / "valid" / f"{name}.mem" for name in ("every_variant", "defaults_every_storage")]
PRESETS = ("tiny", "wan2_1_1_3b")
MACHINE_FIELDS = ("attention_backend", "build_hash", "graph_breaks", "graph_count", "break_reasons", "plan")


def _check(path: Path, actual: dict, update: bool) -> None:
    text = json.dumps(actual, indent=1, sort_keys=True) + "\n"
    if update or not path.exists():
        path.write_text(text)
        if not update:
            pytest.fail(f"created missing golden {path.name}; review and commit it")
    assert text == path.read_text(), f"{path.name} differs (run with --update-goldens if intended)"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_plans(spec, update_goldens):
    doc = echodsl.load(spec)
    actual = {name: {preset: lower(p, preset).to_json() for preset in PRESETS} for name, p in doc.profiles.items()}
    _check(GOLDEN / f"{spec.stem}.plans.json", actual, update_goldens)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_explain_summaries(spec, update_goldens):
    doc = echodsl.load(spec)
    actual = {}
    for name, p in doc.profiles.items():
        report = explain(p, "tiny", breaks=False).to_json()
        actual[name] = {k: v for k, v in report.items() if k not in MACHINE_FIELDS}
    _check(GOLDEN / f"{spec.stem}.explain.json", actual, update_goldens)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_parameter_arithmetic_matches_the_built_modules(spec):
    """``lower`` counts parameters without torch; the modules ``build`` makes (on the meta
    device, so the 1.3B preset costs nothing) must hold exactly that many."""
    import torch

    from echodsl.compiler import make_memory

    for name, profile in echodsl.load(spec).profiles.items():
        for preset in ("tiny", "small", "wan2_1_1_3b"):
            plan = lower(profile, preset)
            with torch.device("meta"):
                modules = [m for m in make_memory(plan) if m is not None]
            built = sum(p.numel() for m in modules for p in m.parameters() if p.requires_grad)
            assert built == plan.param_budget, (name, preset)
