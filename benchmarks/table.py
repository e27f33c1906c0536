"""The suite's results as a table: where the JSON lives and how its rows read as Markdown.

Shared by the suite (``benchmarks/run.py``), which prints the table after a run, and the
README writer (``benchmarks/readme.py``), which puts it between the README's markers.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"
STATUS = {True: "met", False: "**missed**", None: "–"}


def render_table(rows: list[dict]) -> str:
    """The rows as Markdown: section, what, measured, goal, status (met, missed, failed or –)."""
    lines = ["| section | what | measured | goal | status |", "|---|---|---|---|---|"]
    for r in rows:
        status = "**failed**" if r.get("failed") else STATUS[r["met"]]
        cells = [r["section"], r["what"], r["measured"], r["goal"] or "–", status]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
