"""`echodsl report` and the report `echodsl study` writes, on a miniature study: the page
is valid HTML, self-contained, and loads in a real headless Chromium with no console
errors, every image decoded and one table row per design."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import html5lib
import pytest
from PIL import Image

from echodsl.store import Store
from report_browser import chromium_path, open_page

HERE = Path(__file__).parent
FAST = ["--eval-cases", "1", "--eval-steps", "1", "--jobs", "2"]
DESIGNS = ("i2v", "ctx")
# Every <img>, awaited until decoded: its naturalWidth (0 when it does not decode).
IMAGES_JS = """
Promise.all([...document.images].map(img => img.decode().then(() => img.naturalWidth, () => 0)))
  .then(widths => ({widths,
                    rows: [...document.querySelectorAll('#comparison-table tbody tr')].map(r => r.cells[0].textContent),
                    strips: document.querySelectorAll('article.probe').length}))
"""


def echodsl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "echodsl", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=900)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The miniature study, run once: (spec, store path, the study command's stdout)."""
    root = tmp_path_factory.mktemp("report-study")
    spec = root / "mini.mem"
    shutil.copy(HERE / "mini_report.mem", spec)
    done = echodsl("study", str(spec), "--study", "mini", *FAST)
    assert done.returncode == 0, done.stderr[-3000:]
    return spec, root / "echodsl.db", done.stdout


@pytest.fixture(scope="module")
def page(study) -> Path:
    spec, _, stdout = study
    found = re.search(r"^report: (.+index\.html)$", stdout, re.M)
    assert found, stdout
    path = Path(found.group(1))
    assert path.resolve() == (spec.parent / "report" / "mini" / "index.html").resolve() and path.is_file()
    return path


def test_evaluation_keeps_probe_frames_as_hashed_artifacts(study):
    from echodsl.eval.frames import read_probe_frames
    from echodsl.store.writes import sha256_file

    _, db, _ = study
    with Store.open(db, create=False) as store:
        runs = store.runs(study="mini", status="finished")
        assert sorted(r.profile for r in runs) == sorted(DESIGNS)
        for run in runs:
            frames = [a for a in store.artifacts(run.run_id) if Path(a.path).parent.name == "frames"]
            names = sorted(Path(a.path).name for a in frames)
            assert names == ["in0000.generated.png", "in0000.json", "in0000.truth.png",
                             "open0000.generated.png", "open0000.json", "open0000.truth.png"], names
            for a in frames:
                assert sha256_file(Path(a.path)) == (a.sha256, a.size_bytes)
                assert a.kind == ("image" if a.path.endswith(".png") else "file")
            probe = read_probe_frames(next(a.path for a in frames if a.path.endswith("open0000.json")))
            assert probe.split == "open" and probe.revisit and probe.away
            assert len(probe.generated) == len(probe.truth) > max(probe.revisit)
            assert {im.size for im in probe.generated + probe.truth} == {(32, 32)}


def test_page_loads_in_headless_chromium(page, tmp_path):
    if chromium_path() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium package)")
    result = open_page(page, IMAGES_JS)
    assert result.console_errors == []
    value = result.value
    assert sorted(value["rows"]) == sorted(DESIGNS)  # one row per design
    assert value["strips"] == 2  # one in-domain and one open-domain probe
    # 3 figures + per probe (anchor, 4 away, truth, 2 generated) + 2 animations
    assert len(value["widths"]) == 3 + 2 * (1 + 4 + 1 + 2 + 2)
    assert all(w > 0 for w in value["widths"]), value["widths"]
    shot = tmp_path / "report.png"
    shot.write_bytes(result.screenshot)
    with Image.open(shot) as img:
        assert img.width >= 1000 and img.height > 2000  # the whole page, not the viewport


def test_the_browser_check_sees_errors_and_broken_images(tmp_path):
    # guards the check above: a page with a console error and a missing image must fail it
    if chromium_path() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium package)")
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>bad</title></head><body>'
                   '<img src="missing.png" alt="x"><script>console.error("boom")</script></body></html>')
    result = open_page(bad, IMAGES_JS)
    assert any("boom" in e for e in result.console_errors) and any("missing.png" in e for e in result.console_errors)
    assert result.value["widths"] == [0]


def test_page_is_valid_self_contained_html(page):
    text = page.read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error
    assert "<script" not in text.lower()
    links = re.findall(r'\s(?:src|href)="([^"]*)"', text)
    assert links and all(link.startswith(("data:image/", "#")) for link in links), \
        [link[:40] for link in links if not link.startswith(("data:image/", "#"))]
    # each design's spec is one click away: its canonical .mem text and full spec_hash
    with Store.open(page.parents[2] / "echodsl.db", create=False) as store:
        hashes = {r.profile: r.identity.spec_hash for r in store.runs(study="mini")}
    for name in DESIGNS:
        assert f"spec_hash <code>{hashes[name]}</code>" in text
    assert re.search(r"<pre>profile ctx \{\n\s+storage\s+frames\(k = 3", text)
    assert text.count("rubric") >= 2  # the judge's per-case rows


def test_report_command_rebuilds_from_store_and_run_dirs(study, tmp_path):
    spec, db, _ = study
    out = tmp_path / "again"
    done = echodsl("report", "--store", str(db), "--study", "mini", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["report"] == str(out / "index.html")
    first = (spec.parent / "report" / "mini" / "index.html").read_text(encoding="utf-8")
    again = (out / "index.html").read_text(encoding="utf-8")
    stamp = re.compile(r"written \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert stamp.sub("", again) == stamp.sub("", first)

    missing = echodsl("report", "--store", str(db), "--study", "nope", "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and "no study `nope`" in missing.stderr and "mini" in missing.stderr
    no_store = echodsl("report", "--store", str(tmp_path / "none.db"), "--study", "mini", "--out", str(tmp_path / "y"))
    assert no_store.returncode == 2 and "no results store" in no_store.stderr


def test_a_tampered_frame_is_left_out_with_a_warning(study, tmp_path):
    _, db, _ = study
    with Store.open(db, create=False) as store:
        run = store.runs(study="mini")[0]
        strip = next(Path(a.path) for a in store.artifacts(run.run_id) if a.path.endswith("in0000.generated.png"))
    original = strip.read_bytes()
    try:
        with Image.open(strip) as img:
            size = img.size
        Image.new("RGB", size).save(strip)  # same shape, other pixels: only the hash can tell
        done = echodsl("report", "--store", str(db), "--study", "mini", "--out", str(tmp_path / "r"))
        assert done.returncode == 0, done.stderr
        text = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
        assert "does not match the hash the store recorded" in text
        assert text.count('class="generated"') == 2 * 2 - 1  # that run's in-domain revisit is left out
    finally:
        strip.write_bytes(original)


def test_study_keeps_its_results_when_the_report_cannot_be_written(study):
    spec, _, _ = study
    blocked = spec.parent / "report"
    moved = spec.parent / "report.bak"
    blocked.rename(moved)
    blocked.write_text("a file where the report directory should be\n")
    try:
        done = echodsl("study", str(spec), "--study", "mini")  # every pair is done: skipped in-process
        assert done.returncode == 0, done.stderr[-3000:]
        assert "2 skipped" in done.stdout and "R-P" in done.stdout and "report:" not in done.stdout
        assert "warning: the study's report was not written" in done.stderr
    finally:
        blocked.unlink()
        moved.rename(blocked)
