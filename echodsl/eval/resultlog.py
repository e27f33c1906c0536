"""Per-case results saved as they complete: ``<run_dir>/eval/<branch>.jsonl``, one line a case.

Every line carries a ``key``: a hash of what the score depends on (checkpoint, sampler
settings, judge and its version, LPIPS weights, ...). A re-run with the same key reuses
the cases already scored ``ok`` and only does the rest, so a crash or a failing judge
never costs what was already scored; failed cases are tried again. Lines are only ever
appended (a different key leaves older results in place); a torn last line from a killed
run is ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from echodsl.eval.report import CaseRow


def result_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ResultLog:
    def __init__(self, path: Path, key: str):
        self.path = path
        self.key = key

    def load(self) -> dict[str, CaseRow]:
        """The cases already scored ok under this key (the latest line wins)."""
        done: dict[str, CaseRow] = {}
        if not self.path.is_file():
            return done
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("key") != self.key:
                continue
            row = CaseRow.from_dict(entry)
            if row.status == "ok":
                done[row.case_id] = row
            else:
                done.pop(row.case_id, None)
        return done

    def append(self, row: CaseRow) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": self.key, **row.to_dict(features=True)}, default=float)
        with open(self.path, "a") as f:
            f.write(line + "\n")
            f.flush()
