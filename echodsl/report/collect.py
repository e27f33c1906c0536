"""Everything a study report shows, read from the results store (and the run directories
its artifacts point into), as plain data for the template.

Nothing here draws or formats HTML: :mod:`.media` turns frames and figures into images,
:mod:`.page` renders the template.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from echodsl.errors import UsageError
from echodsl.eval.frames import ProbeFrames, read_probe_frames
from echodsl.store.columns import TABLE1, Column
from echodsl.store.confounds import group_confounds
from echodsl.store.compare import Group, collect
from echodsl.store.records import Run
from echodsl.store.stats import MeanCI
from echodsl.store.store import Store
from echodsl.store.writes import sha256_file

# Each branch is ranked by its own headline column: the report never blends branches.
RANK_BY = (("replay", "R-P"), ("in-domain return", "ID-P"), ("open-domain return", "O-V"))
JUDGE_SUBSCORES = ("appearance", "presence", "view", "scene")


@dataclass(frozen=True)
class Cell:
    text: str  # "12.54 ± 0.31", or "n/a"
    n: int  # seeds with a value


@dataclass(frozen=True)
class Design:
    """One row of the comparison table: a design (spec_hash) and its finished runs."""

    label: str
    spec_hash: str
    family: str
    seeds: tuple[int, ...]
    cells: dict[str, Cell]  # Table 1 label -> cell
    ranks: dict[str, int | None]  # branch title -> rank (1 = best) among designs with a value
    mem_text: str  # the resolved profile as canonical .mem text
    canonical_json: str
    group: Group = field(repr=False)

    def stat(self, branch: str, name: str) -> MeanCI:
        return self.group.stat(branch, name)


@dataclass(frozen=True)
class ProbeView:
    """One return probe across designs: the ground truth once, each design's rollout."""

    case_id: str
    split: str
    anchor: str
    truth: ProbeFrames
    generated: dict[str, tuple[int, ProbeFrames]]  # design label -> (seed, frames)


@dataclass(frozen=True)
class JudgeRow:
    design: str
    seed: int
    case_id: str
    judge: str
    status: str
    overall: float | None
    subscores: dict[str, float | None]
    raw_response: str | None
    error: str | None


@dataclass(frozen=True)
class RunRow:
    run_id: int
    profile: str
    seed: int
    status: str
    git: str  # "abc123def456 (clean)" / "abc123def456 (dirty)" / "–" outside a repository
    device: str
    host: str
    versions: str
    started: str  # ISO time, UTC
    wall_s: float | None
    steps: int | None
    step_time_s: float | None
    device_hours: float | None
    error: str | None


@dataclass
class StudyData:
    study: str
    store_url: str
    setup_hash: str | None
    setup_json: str
    columns: tuple[Column, ...]
    designs: list[Design]
    probes: list[ProbeView]
    judged: list[JudgeRow]
    runs: list[RunRow]
    warnings: list[str]
    created: str


def collect_study(store: Store, study: str, setup: str | None = None) -> StudyData:
    """Read one study's finished runs (newest per design and seed; of one setup, a
    setup_hash prefix, when the study ran under several) and what they logged."""
    setup_hash, groups = collect(store, study=study, setup=setup)
    if not groups:
        known = sorted({r.study for r in store.runs()})
        raise UsageError(f"study {study!r} has no finished runs in {store.url}",
                         hint=f"studies in this store: {', '.join(known)}" if known else "run `echodsl study` first")
    setups = store.setups()
    specs = store.specs()
    # A comparison is controlled only if the designs differ in memory representation alone.
    warnings: list[str] = [c.message() for c in group_confounds(groups)]
    designs = [_design(g, specs[g.spec_hash].canonical) for g in groups]
    designs = _ranked(designs)
    probes = _probes(store, designs, warnings)
    return StudyData(
        study=study, store_url=store.url, setup_hash=setup_hash,
        setup_json=json.dumps(setups[setup_hash].canonical, indent=2, sort_keys=True) if setup_hash in setups else "",
        columns=TABLE1, designs=designs, probes=probes, judged=_judged(store, designs),
        runs=[_run_row(r) for r in store.runs(study=study, setup_hash=setup_hash)], warnings=warnings,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def _design(g: Group, canonical: dict[str, Any]) -> Design:
    cells = {}
    for col in TABLE1:
        s = g.stat(col.branch, col.name)
        cells[col.label] = Cell(s.text(col.digits), s.n)
    return Design(g.label, g.spec_hash, _family(g.names[0], canonical), g.seeds, cells, {},
                  _mem_text(g.names[0], canonical), json.dumps(canonical, indent=2, sort_keys=True), g)


def _ranked(designs: list[Design]) -> list[Design]:
    """Competition ranks (1, 2, 2, 4) per branch by its headline column; None without a value."""
    ranks: dict[str, dict[str, int | None]] = {d.spec_hash: {} for d in designs}
    for title, label in RANK_BY:
        col = next(c for c in TABLE1 if c.label == label)
        means = {d.spec_hash: d.stat(col.branch, col.name).mean for d in designs}
        scored = [m for m in means.values() if m is not None]
        for h, m in means.items():
            better = [x for x in scored if (x > m if col.higher_is_better else x < m)] if m is not None else None
            ranks[h][title] = None if better is None else len(better) + 1
    return [replace(d, ranks=ranks[d.spec_hash]) for d in designs]


def _mem_text(name: str, canonical: dict[str, Any]) -> str:
    from echodsl.lang.api import dumps
    from echodsl.lang.model import Profile

    safe = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name).strip("_") or "design"
    try:
        return dumps(Profile.from_canonical(safe, canonical))
    except Exception:  # noqa: BLE001 - a design written by a newer grammar still shows as JSON
        return json.dumps(canonical, indent=2, sort_keys=True)


def _family(name: str, canonical: dict[str, Any]) -> str:
    from echodsl.lang.model import Profile

    try:
        return Profile.from_canonical("design", canonical).family
    except Exception:  # noqa: BLE001
        return "?"


def _probes(store: Store, designs: Sequence[Design], warnings: list[str]) -> list[ProbeView]:
    """Every saved return probe; per design the rollout of its lowest seed that kept one."""
    found: dict[str, dict[str, tuple[int, ProbeFrames]]] = {}
    for d in designs:
        for run in d.group.runs:  # seed order
            for frames in _run_frames(store, run, warnings):
                found.setdefault(frames.case_id, {}).setdefault(d.label, (run.identity.seed, frames))
    if not found:
        warnings.append("no run of this study kept rollout frames (evaluated before frames were saved?)")
    order = sorted(found, key=lambda case: ({"in": 0, "open": 1}.get(_first(found[case]).split, 2), case))
    views = []
    for case in order:
        per_design = found[case]
        first = _first(per_design)
        views.append(ProbeView(case, first.split, first.anchor, first, per_design))
    return views


def _first(per_design: dict[str, tuple[int, ProbeFrames]]) -> ProbeFrames:
    return next(iter(per_design.values()))[1]


def _run_frames(store: Store, run: Run, warnings: list[str]) -> list[ProbeFrames]:
    """The probe frames a run logged, each file checked against the hash the store holds."""
    artifacts = {a.path: a for a in store.artifacts(run.run_id)}
    out = []
    for path, art in artifacts.items():
        p = Path(path)
        if not (p.suffix == ".json" and p.parent.name == "frames"):
            continue
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            for name in (p.name, data["generated"], data["truth"]):
                file = p.parent / name
                logged = artifacts.get(str(file))
                if logged is None or sha256_file(file)[0] != logged.sha256:
                    raise ValueError(f"{file} does not match the hash the store recorded")
            out.append(read_probe_frames(p))
        except (OSError, ValueError, KeyError) as exc:
            warnings.append(f"run {run.run_id} ({run.profile}, seed {run.identity.seed}): skipped {p.name}: {exc}")
    return out


def _judged(store: Store, designs: Sequence[Design]) -> list[JudgeRow]:
    rows = []
    for d in designs:
        for run in d.group.runs:
            for c in store.cases(run.run_id, branch="return_open"):
                subs = {k: c.scores.get(f"judge_{k}", c.scores.get(k)) for k in JUDGE_SUBSCORES}
                overall = c.scores.get("judge_overall", c.overall)
                rows.append(JudgeRow(d.label, run.identity.seed, c.case_id, f"{c.judge} {c.judge_version}".strip(),
                                     c.status, overall, subs, c.raw_response, c.error))
    return rows


def _run_row(r: Run) -> RunRow:
    p = r.provenance
    state = {True: " (dirty)", False: " (clean)", None: ""}[p.git_dirty]
    git = "–" if p.git_commit is None else p.git_commit[:12] + state
    versions = ", ".join(f"{k} {v}" for k, v in sorted(p.versions.items()) if v)
    started = datetime.fromtimestamp(r.started_ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    wall = (r.ended_ms - r.started_ms) / 1000 if r.ended_ms else None
    return RunRow(r.run_id, r.profile, r.identity.seed, r.status, git, p.device, p.host, versions, started, wall,
                  r.steps, r.step_time_s, r.device_hours, r.error)
