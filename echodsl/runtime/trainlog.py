"""A run's training log: ``metrics.jsonl`` on disk, and the same entries in memory.

One JSON object per line, in the order written: ``{"step", "loss", "skipped"}`` after each
step, ``{"step", "memory": {...}}`` after each memory probe, ``{"step", **sample}`` after
each replay sample. A resumed run first drops the entries past its checkpoint, so both the
file and the in-memory history read like the uninterrupted run's, from step 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any


class TrainLog:
    """Appends entries to ``path`` and keeps the whole run's entries as ``history``.

    With ``enabled`` False (torchrun ranks other than 0) nothing is read, written or kept.
    """

    def __init__(self, path: Path, enabled: bool = True):
        self.path, self.enabled = path, enabled
        self.history: list[dict[str, Any]] = []
        self._file: IO[str] | None = None

    def restore(self, step: int) -> None:
        """Keep the entries up to ``step`` (the checkpoint a run resumes from; 0 for a fresh
        run) in the file and in ``history``; drop the rest."""
        if not self.enabled:
            return
        kept = []
        if self.path.exists():
            kept = [ln for ln in self.path.read_text().splitlines() if ln and json.loads(ln).get("step", 0) <= step]
            self.path.write_text("".join(ln + "\n" for ln in kept))
        self.history = [json.loads(ln) for ln in kept]

    def open(self) -> None:
        if self.enabled and self._file is None:
            self._file = self.path.open("a")

    def add(self, entry: dict[str, Any]) -> None:
        """Write one entry; ``history`` holds it as it reads back from the file."""
        if self._file is None:
            return
        line = json.dumps(entry)
        self._file.write(line + "\n")
        self.history.append(json.loads(line))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
