"""``results plot``: the study's three figures as PNG files (matplotlib, no display needed).

* ``scaling``: metric vs a numeric spec field (default ``storage.k``), mean ± 95 % CI over
  seeds, one panel per metric and one line per design family (designs equal in every
  other field).
* ``tradeoff``: replay PSNR vs device-hours per training step, one point per design.
* ``drift``: replay PSNR per rollout chunk, one line per design (the band is the CI).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from echodsl.errors import UsageError
from echodsl.store.columns import Column, column
from echodsl.store.compare import Group, check_field, collect, flatten_spec, spec_field
from echodsl.store.stats import mean_ci
from echodsl.store.store import Store

KINDS = ("scaling", "tradeoff", "drift")
DEFAULT_SCALING = ("R-P", "ID-P", "O-V")


def plot(store: Store, kinds: Sequence[str], out_dir: str | Path, *, study: str | None = None,
         setup: str | None = None, by: str = "storage.k", metrics: Sequence[str] = DEFAULT_SCALING) -> list[Path]:
    """Write the requested figures into ``out_dir``; returns the PNG paths. A figure asked
    for by name but without data is an error; with several kinds, it is skipped."""
    _, groups = collect(store, study=study, setup=setup)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    makers = {"scaling": lambda p: scaling(groups, p, by=by, metrics=[column(m) for m in metrics]),
              "tradeoff": lambda p: tradeoff(groups, p), "drift": lambda p: drift(groups, p)}
    written, skipped = [], []
    for kind in kinds:
        try:
            written.append(makers[kind](out / f"{kind}.png"))
        except UsageError as exc:
            if len(kinds) == 1:
                raise
            skipped.append(f"{kind}: {exc}")
    if not written:
        raise UsageError("no figure has data", hint="; ".join(skipped))
    return written


def scaling(groups: list[Group], path: Path, *, by: str, metrics: Sequence[Column]) -> Path:
    check_field(by, [g.canonical for g in groups])
    points = [g for g in groups if _is_number(spec_field(g.canonical, by))]
    if not points:
        raise UsageError(f"no design has a numeric {by}")
    families: dict[tuple, list[Group]] = {}
    for g in points:
        rest = tuple(sorted((k, repr(v)) for k, v in flatten_spec(g.canonical).items() if k != by))
        families.setdefault(rest, []).append(g)
    fig = Figure(figsize=(4.2 * len(metrics), 3.4), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, col in zip(axes, metrics):
        for members in families.values():
            members = sorted(members, key=lambda g: spec_field(g.canonical, by))
            stats = [g.stat(col.branch, col.name) for g in members]
            xs = [spec_field(g.canonical, by) for g, s in zip(members, stats) if s.mean is not None]
            ys = [s.mean for s in stats if s.mean is not None]
            errs = [s.half or 0.0 for s in stats if s.mean is not None]
            if xs:
                ax.errorbar(xs, ys, yerr=errs, marker="o", capsize=3, label=_family_label(members))
        ax.set_xlabel(by)
        ax.set_ylabel(f"{col.label} ({col.branch} {col.name})")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.suptitle(f"context scaling: metric vs {by} (mean ± 95% CI over seeds)")
    return _save(fig, path)


def tradeoff(groups: list[Group], path: Path) -> Path:
    col = column("R-P")
    points = []
    for g in groups:
        cost = mean_ci([r.device_hours_per_step for r in g.runs])
        quality = g.stat(col.branch, col.name)
        if cost.mean is not None and quality.mean is not None:
            points.append((g, cost.mean, quality))
    if not points:
        raise UsageError("no design has both replay PSNR and device-hours and steps recorded")
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    for g, x, q in points:
        ax.errorbar([x], [q.mean], yerr=[q.half or 0.0], marker="o", capsize=3)
        ax.annotate(g.names[0], (x, q.mean), textcoords="offset points", xytext=(4, 4), fontsize="small")
    ax.set_xlabel("device-hours per training step")
    ax.set_ylabel("replay PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.set_title("quality vs time")
    return _save(fig, path)


def drift(groups: list[Group], path: Path, *, branch: str = "replay", name: str = "psnr") -> Path:
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    drawn = 0
    for g in groups:
        chunks = sorted({k[2] for v in g.values.values() for k in v if k[:2] == (branch, name) and k[2] is not None})
        stats = [g.stat(branch, name, c) for c in chunks]
        xs = [c for c, s in zip(chunks, stats) if s.mean is not None]
        if not xs:
            continue
        means = [s.mean for s in stats if s.mean is not None]
        halves = [s.half or 0.0 for s in stats if s.mean is not None]
        line = ax.plot(xs, means, marker="o", label=g.names[0])[0]
        ax.fill_between(xs, [m - h for m, h in zip(means, halves)], [m + h for m, h in zip(means, halves)],
                        color=line.get_color(), alpha=0.15)
        drawn += 1
    if not drawn:
        raise UsageError(f"no run logged per-chunk {branch}/{name} values")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("rollout chunk")
    ax.set_ylabel(f"{branch} {name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title("replay drift per chunk")
    return _save(fig, path)


def _family_label(members: list[Group]) -> str:
    return members[0].names[0].split("[")[0]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=120, metadata={"Software": None})
    return path
