"""The performance suite's plumbing: the interleaved protocol, the JSON it writes, the
README table generated from it (never typed), and the GPU row without a GPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _importable(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))


def test_sides_alternate_and_warmup_is_dropped():
    from benchmarks.protocol import interleaved

    calls = []
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=4, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(t.samples) for t in timings.values()] == [4, 4]
    assert all(t.spread[0] <= t.median <= t.spread[1] for t in timings.values())


def _result(rows):
    return {"format_version": "1", "when": "2026-01-01 00:00 UTC", "command": "python -m benchmarks --quick",
            "machine": {"cpus": 2}, "rows": rows}


def test_the_readme_table_is_generated_between_the_markers():
    from benchmarks.readme import BEGIN, END, rewrite

    text = f"intro\n{BEGIN}\nold table\n{END}\nafter\n"
    rows = [{"section": "store", "what": "compare", "measured": "0.05 s", "goal": "≤ 0.2 s", "met": True},
            {"section": "gpu", "what": "step", "measured": "skipped: no CUDA device", "goal": "", "met": None}]
    out = rewrite(text, _result(rows))
    assert out.startswith(f"intro\n{BEGIN}\n") and out.endswith(f"{END}\nafter\n") and "old table" not in out
    assert "| store | compare | 0.05 s | ≤ 0.2 s | met |" in out
    assert "| gpu | step | skipped: no CUDA device | – | – |" in out
    assert rewrite(out, _result(rows)) == out  # idempotent
    with pytest.raises(ValueError):
        rewrite("no markers here", _result(rows))


def test_the_readme_carries_the_markers():
    from benchmarks.readme import BEGIN, END, README

    text = README.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and text.index(BEGIN) < text.index(END)


def test_the_gpu_row_is_skipped_without_cuda(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "gpu", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(out.read_text())["rows"]
    import torch

    if torch.cuda.is_available():
        assert row["measured"] == "see detail"
    else:
        assert row["measured"] == "skipped: no CUDA device" and row["met"] is None
    assert "| gpu |" in done.stdout


def test_an_unknown_section_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nope"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "unknown section" in done.stderr


@pytest.mark.slow
def test_the_quick_front_end_and_store_sections_run(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "frontend,store", "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {r["section"] for r in rows} == {"front end", "store"}
    assert any(r["what"].startswith("parses per") and r["met"] for r in rows)


# The suite in a child process with some sections replaced: one raising, one missing its goal.
_PATCHED_SUITE = """
import sys
import benchmarks.frontend, benchmarks.store_bench
from benchmarks.protocol import Row
from benchmarks.run import main

def broken(quick):
    raise TypeError("MemoryPlan.__init__() got an unexpected keyword argument")

def missed(quick):
    return [Row("store", "compare, 1,000 runs", "9.9 s", "≤ 0.2 s", False)]

if "raise" in sys.argv[1]:
    benchmarks.frontend.section = broken
benchmarks.store_bench.section = missed
sys.exit(main(sys.argv[2:]))
"""


def _patched_suite(mode: str, out: Path, sections: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PATCHED_SUITE, mode, "--only", sections, "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_a_section_that_raises_fails_the_suite_and_is_named(tmp_path):
    out = tmp_path / "results.json"
    done = _patched_suite("raise", out, "frontend,store")
    assert done.returncode == 1, done.stderr
    assert "section frontend failed: TypeError: MemoryPlan.__init__()" in done.stderr
    result = json.loads(out.read_text())
    assert list(result["failed_sections"]) == ["frontend"] and result["complete"]
    failed, missed = result["rows"]  # the sections after the broken one still ran
    assert failed["failed"] and failed["section"] == "frontend" and missed["section"] == "store"
    assert "| frontend | (section failed) | TypeError: MemoryPlan" in done.stdout and "**failed**" in done.stdout


def test_a_missed_goal_is_a_figure_not_a_failure(tmp_path):
    out = tmp_path / "results.json"
    done = _patched_suite("miss", out, "store")
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["failed_sections"] == {} and [r["met"] for r in result["rows"]] == [False]
    assert "| store | compare, 1,000 runs | 9.9 s | ≤ 0.2 s | **missed** |" in done.stdout
    assert len(result["commit"]) == 40  # the commit measured, for the README's table


def test_the_readme_names_the_commit_measured():
    from benchmarks.readme import BEGIN, END, rewrite

    result = {**_result([]), "commit": "0123456789abcdef" * 2 + "01234567", "dirty": True}
    out = rewrite(f"{BEGIN}\n{END}\n", result)
    assert "at commit `0123456789ab` with uncommitted changes by `python -m benchmarks --quick`" in out


def test_every_section_has_a_module_with_a_section_function():
    import importlib

    from benchmarks.run import SECTIONS

    for name, module in SECTIONS.items():
        assert callable(importlib.import_module(module).section), name


def test_cost_vs_k_sets_the_memory_size_the_model_reads():
    from benchmarks.cost_vs_k import make_step

    for family, k, frames in (("state", 3, 3), ("spatial", 7, 7), ("context", 4, 3)):
        step, _, _, memory, plan = make_step(family, k, batch=1)
        assert plan.memory_frames == frames and memory.latents.shape[1] == frames, family
    step()  # the context step at K = 4 runs


def test_retrieval_benchmark_counts_only_views_from_an_earlier_visit():
    from benchmarks import retrieval

    path = retrieval.out_and_back(1, legs=3)[0]
    t = path.poses.shape[0]
    leg = (t - 6) // 3  # 3 legs, 2 turns of 3 frames
    s = 2 * leg + 6 + leg // 2  # a segment in the middle of the third leg (outward again)
    visit = retrieval.earlier_visit(path.poses, s, s + 2)
    assert visit and max(visit) < leg, visit  # the first leg only
    assert s - 1 not in visit  # the frame just before, on this pass, is no revisit
    before = retrieval.score([path], {"key": "targets", "overlap": "unbounded", "samples": 64})
    after = retrieval.score([path], {"samples": 64})
    assert after["queries"] == before["queries"] > 0
    assert after["share"][1] > before["share"][1]
