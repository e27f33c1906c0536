"""Helpers shared by the results-store tests: a small study and a deterministic way to
fill a store through the public API only."""

from __future__ import annotations

import math

import echodsl
from echodsl.store import MetricValue, Provenance, RunIdentity, RunInfo, Store

STUDY_TEXT = """
profile i2v {}
profile ctx { storage frames(k = {1, 5, 20}) }
profile comp_length_r4 { storage frames(k = 20)  compression length(ratio = 4) }
profile spatial_xattn {
    storage summary(grid = 8x8, pool = mean)
    readout cross_attention(heads = 4, dedicated = true)
}
study table1 { profiles i2v, ctx, comp_length_r4, spatial_xattn  seeds 0, 1, 2 }
"""
BUILD = "b" * 64
PROVENANCE = Provenance(device="cpu", host="testhost", git_commit="0" * 40, git_dirty=False,
                        versions={"python": "3.11", "torch": None})

# Run-level base values per profile: (R-P, R-S, R-L, ID-P, ID-S, ID-L, O-V); None = not logged,
# NaN = logged as unavailable. Seeds add (-1, 0, +1) x a per-metric step.
BASE = {
    "i2v": (10.03, 0.398, 0.534, 10.32, 0.291, 0.643, 12.25),
    "ctx[storage.k=1]": (10.50, 0.400, 0.530, 10.40, 0.300, 0.640, 20.00),
    "ctx[storage.k=5]": (11.92, 0.408, 0.501, 10.72, 0.307, 0.596, 50.75),
    "ctx[storage.k=20]": (12.54, 0.449, 0.496, 11.07, 0.359, 0.543, 58.63),
    "comp_length_r4": (8.65, 0.174, math.nan, 10.67, 0.154, math.nan, 43.25),
    "spatial_xattn": (13.60, 0.411, 0.554, 10.04, 0.260, 0.617, None),
}
STEP = (0.2, 0.01, 0.01, 0.2, 0.01, 0.01, 2.0)
KEYS = (("replay", "psnr"), ("replay", "ssim"), ("replay", "lpips"), ("return_in", "psnr"),
        ("return_in", "ssim"), ("return_in", "lpips"), ("return_open", "judge_overall"))



def load_study():
    return echodsl.loads(STUDY_TEXT).study("table1")


def start(store: Store, study, profile, seed: int, *, build: str = BUILD) -> int:
    store.record_setup(study)
    store.record_spec(profile, "profile source")
    ident = RunIdentity(profile.spec_hash, study.setup_hash, build, seed)
    return store.start_run(RunInfo(ident, profile.name, study.name, PROVENANCE, compile_mode="default"))


def populate(store: Store, study) -> None:
    """Every profile x seed finished with deterministic metrics; spatial_xattn has one seed."""
    for profile in study.profiles:
        seeds = (0,) if profile.name == "spatial_xattn" else study.seeds
        for seed in seeds:
            run_id = start(store, study, profile, seed)
            values = []
            for (branch, name), base, step in zip(KEYS, BASE[profile.name], STEP):
                if base is not None:
                    values.append(MetricValue(branch, name, base + (seed - 1) * step))
            k = profile.storage.get("k", 0)
            values += [MetricValue("replay", "psnr", 14.0 - c * (1.5 - 0.05 * k) + 0.1 * seed, chunk=c)
                       for c in range(4)]
            store.log_metrics(run_id, values)
            store.finish_run(run_id, steps=100, step_time_s=0.5 + 0.01 * k,
                             device_hours=(0.5 + 0.01 * k) * 100 / 3600)
