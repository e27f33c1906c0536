"""Render a study's report: collect from the store, draw the images, fill the Jinja2
template, write ``<out>/index.html`` (one self-contained file: every image is embedded,
nothing is fetched, no script runs)."""

from __future__ import annotations

import math
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from echodsl.errors import StoreError
from echodsl.report import media
from echodsl.report.collect import JUDGE_SUBSCORES, RANK_BY, StudyData, collect_study
from echodsl.store.store import Store

TEMPLATE = "report.html.j2"


def write_report(store: Store, study: str, out_dir: str | Path, *, setup: str | None = None) -> Path:
    """Write the report of ``study`` (of one setup, a setup_hash prefix, if it ran under
    several) into ``out_dir``; returns the path of ``index.html``."""
    data = collect_study(store, study, setup)
    html = render_html(data)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        page = out / "index.html"
        page.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"{out}: cannot write the report ({exc.strerror})") from None
    return page


def render_html(data: StudyData) -> str:
    env = Environment(loader=PackageLoader("echodsl.report", "templates"), autoescape=select_autoescape(["j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["duration"] = _duration
    probes = [{"view": v, "tiles": media.filmstrip(v), "animations": media.animations(v)} for v in data.probes]
    families = sorted({d.family for d in data.designs})
    return env.get_template(TEMPLATE).render(
        data=data, rank_by=RANK_BY, subscores=JUDGE_SUBSCORES, figures=media.figures(data.designs),
        probes=probes, families=families)


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, s = divmod(round(seconds), 60)
    return f"{minutes} min {s:02d} s" if minutes else f"{s} s"
