"""Shared fixtures for the evaluation tests: one small world and a few of its probes,
rendered once per session (rendering dominates the suite's run time)."""

from __future__ import annotations

import pytest

from echodsl.data.world import World, WorldConfig


@pytest.fixture(scope="session")
def world() -> World:
    return World(WorldConfig(scenes=2, height=32, width=32, frames_per_scene=16))


@pytest.fixture(scope="session")
def open_probe(world):
    return world.probe(0, "open")


@pytest.fixture(scope="session")
def in_probe(world):
    return world.probe(1, "in")


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """These tests use tiny tensors; on a shared 2-core machine intra-op threads spin
    against other jobs and made them many times slower. Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    """A ctx_k3 run of the runtime tests' tiny study, trained for 2 steps (~15 s, once)."""
    from pathlib import Path

    import echodsl
    from echodsl.runtime.session import resolve_run
    from echodsl.runtime.trainer import TrainOptions, Trainer

    spec = Path(__file__).resolve().parents[1] / "runtime" / "tiny.mem"
    out = tmp_path_factory.mktemp("ctx_k3")
    run = resolve_run(echodsl.load(spec), spec, "ctx_k3", "tiny", None, {"steps": 2})
    Trainer(run, TrainOptions(out=out, progress=False)).fit()
    return out


@pytest.fixture
def untrained(tmp_path):
    """``untrained(profile)``: a TrainedRun of the tiny study at initialisation (no training),
    its run directory ``tmp_path``: for tests that replace or spy on generation."""
    from pathlib import Path

    import echodsl
    from echodsl.runtime import assemble
    from echodsl.runtime.trained import TrainedRun

    spec = Path(__file__).resolve().parents[1] / "runtime" / "tiny.mem"
    doc = echodsl.load(spec)

    def make(profile: str) -> TrainedRun:
        run = assemble.RunConfig.from_study(doc.study("tiny"), doc.profile(profile), 0, spec.parent)
        plan = assemble.plan_of(run)
        model = assemble.make_model(plan, 0).eval()
        return TrainedRun(run, plan, model, 0, tmp_path, tmp_path / "init", {"spec_hash": run.profile.spec_hash})

    return make
