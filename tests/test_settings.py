"""Typed settings: every schema variant has its frozen class with exactly the schema's
arguments, and every shipped spec's resolved clauses read back the same through them.

The settings are a view of the stored ``Variant``s (which keep every hash), so a settings
class that drifted from the schema, or a conversion that changed a value, fails here.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import echodsl
from echodsl.lang.model import Variant
from echodsl.lang.schema import PROFILE_CLAUSES, SELECT_VARIANTS, STUDY_CLAUSES, default_value
from echodsl.lang.settings import (SETTINGS, BackboneWan, DataMind, EvalReturn, ReadoutJoint, RecurrenceNone,
                                   SelectFov, Settings, StorageFrames, StorageNone, TrainFlow, settings_of)

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.mem")) + sorted((ROOT / "tests" / "golden" / "valid").glob("*.mem"))


def _schema_variants():
    for table in (PROFILE_CLAUSES, STUDY_CLAUSES):
        for clause, variants in table.items():
            for variant, params in variants.items():
                yield clause, variant, params
    for variant, params in SELECT_VARIANTS.items():
        yield "select", variant, params


def test_every_schema_variant_has_its_class_with_the_schema_arguments():
    expected = {(c, v) for c, v, _ in _schema_variants()}
    assert set(SETTINGS) == expected
    for clause, variant, params in _schema_variants():
        cls = SETTINGS[(clause, variant)]
        assert (cls.clause, cls.variant) == (clause, variant)
        names = [f.name for f in dataclasses.fields(cls)]
        assert names == [*params, *cls.derived], (clause, variant)
        # No defaults of their own: the schema is the one place that holds them.
        assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   for f in dataclasses.fields(cls)), (clause, variant)
        assert cls.__dataclass_params__.frozen


def _as_json(value):
    """A settings object back in the stored form (``Variant.to_json``)."""
    if isinstance(value, Settings):
        return {"variant": value.variant,
                "args": {f.name: _as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    return list(value) if isinstance(value, tuple) else value


def _same(variant: Variant, settings: Settings, clause: str) -> None:
    """Every recorded argument reads back unchanged; one not recorded reads its default."""
    stored, typed = variant.to_json(), _as_json(settings)
    assert typed["variant"] == stored["variant"]
    params = (SELECT_VARIANTS if clause == "select" else {**PROFILE_CLAUSES, **STUDY_CLAUSES}[clause])[variant.variant]
    for name, value in typed["args"].items():
        if name in stored["args"]:
            assert value == stored["args"][name] and type(value) is type(stored["args"][name]), (clause, name)
        elif name in params:
            assert value == _as_json(default_value(params[name])), (clause, name)
        else:
            assert value is None and name in type(settings).derived


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_reads_back_through_its_settings(spec):
    doc = echodsl.load(spec)
    assert doc.profiles or doc.studies
    for profile in doc.profiles.values():
        for clause, variant in profile.clauses().items():
            _same(variant, getattr(profile.settings, clause), clause)
    for study in doc.studies.values():
        setup = study.settings
        for clause in ("backbone", "data", "train"):
            _same(getattr(study, clause), getattr(setup, clause), clause)
        assert len(setup.eval) == len(study.eval)
        for variant, settings in zip(study.eval, setup.eval):
            _same(variant, settings, "eval")


def test_settings_are_typed_and_frozen():
    doc = echodsl.loads("profile ctx { storage frames(k = 3, select = fov(far = 6)) readout joint(gate = zero) }\n"
                        "profile i2v {}\n"
                        "study s { train flow(steps = 7) profiles ctx, i2v }")
    ctx = doc.profile("ctx").settings
    assert ctx.storage == StorageFrames(k=3, select=SelectFov(samples=512, recency=0.0, key="middle",
                                                              overlap="symmetric", far=6.0))
    assert isinstance(ctx.readout, ReadoutJoint) and (ctx.readout.placement, ctx.readout.gate) == ("suffix", "zero")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.storage.k = 9  # type: ignore[misc]
    i2v = doc.profile("i2v").settings
    # storage none: the anchor alone; recurrence none attaches like the recurrences' default.
    assert isinstance(i2v.storage, StorageNone) and i2v.storage.k == 1
    assert isinstance(i2v.recurrence, RecurrenceNone) and i2v.recurrence.every == 4
    assert i2v.action.inject == "pre_norm"
    setup = doc.study("s").settings
    assert isinstance(setup.train, TrainFlow) and setup.train.steps == 7 and setup.train.lr == 5e-5
    assert setup.backbone == BackboneWan(preset="tiny", config=None, weights=None, text_encoder=None, vae=None,
                                         weights_sha256=None, vae_sha256=None, text_encoder_sha256=None)
    assert [type(e).__name__ for e in setup.eval] == ["EvalReplay", "EvalReturn", "EvalReturn"]
    assert setup.eval[2] == EvalReturn(domain="open", judge="rubric")


def test_reading_settings_leaves_the_hashes_alone():
    doc = echodsl.load(ROOT / "specs" / "quickstart.mem")
    study = next(iter(doc.studies.values()))
    before = ([p.spec_hash for p in doc.profiles.values()], study.setup_hash)
    for p in doc.profiles.values():
        p.settings
    study.settings
    assert ([p.spec_hash for p in doc.profiles.values()], study.setup_hash) == before


def test_a_variant_recorded_before_an_argument_existed_reads_as_it_then_meant():
    # Old run directories keep their RunConfig JSON: arguments added since take the
    # schema's default, except where their absence meant something else.
    flow = settings_of("train", {"variant": "flow", "args": {"steps": 3, "lr": 1e-3}})
    assert (flow.steps, flow.lr, flow.accumulate, flow.dtype) == (3, 1e-3, 1, "fp32")
    mind = settings_of("data", {"variant": "mind", "args": {"root": "clips"}})
    assert mind == DataMind(root="clips", split="test")  # MIND data before `split`: the test clips
    assert settings_of("data", {"variant": "mind", "args": {"root": "clips", "split": "train"}}).split == "train"
    # A backbone recorded with its weights' digest keeps it; arguments the language dropped are ignored.
    wan = settings_of("backbone", {"variant": "wan", "args": {"preset": "tiny", "weights": "w.safetensors",
                                                                "weights_sha256": "ab", "history_frames": 3}})
    assert (wan.weights, wan.weights_sha256, wan.vae_sha256, wan.base_preset) == ("w.safetensors", "ab", None, "tiny")


def test_a_variant_without_a_written_class_gets_one_made_from_the_schema(monkeypatch):
    from echodsl.lang import schema
    from echodsl.lang.schema import Param

    monkeypatch.setitem(schema.PROFILE_CLAUSES["storage"], "scratch", {"width": Param("int", 3)})
    made = settings_of("storage", "scratch")
    assert made.width == 3 and made.variant == "scratch" and type(made) is type(settings_of("storage", "scratch"))


def test_the_settings_import_no_torch():
    code = "import echodsl, echodsl.lang.settings, sys; echodsl.load('specs/quickstart.mem'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
