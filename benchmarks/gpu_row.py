"""The ``gpu`` section: ``benchmarks/gpu_step.py`` (the Wan2.1-1.3B train step) in its own
process, as one row: its output, or a skipped row without CUDA; an error if it fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.protocol import Row

GPU_STEP = Path(__file__).resolve().parent / "gpu_step.py"


def section(quick: bool) -> list[Row]:
    """The same run with or without ``--quick``: the step is a GPU's, not this CPU's."""
    done = subprocess.run([sys.executable, str(GPU_STEP)], capture_output=True, text=True)
    out = (done.stdout + done.stderr).strip()
    if done.returncode != 0:  # a broken benchmark, not a slow step: the suite reports it as failed
        raise RuntimeError(f"{GPU_STEP.name} exited with {done.returncode}: {out[-300:]}")
    if "no CUDA" in out:
        return [Row("gpu", "Wan2.1-1.3B bf16 train step (benchmarks/gpu_step.py)", "skipped: no CUDA device",
                    "MFU vs ~48 %", None, {"output": out})]
    return [Row("gpu", "Wan2.1-1.3B bf16 train step (benchmarks/gpu_step.py)", "see detail", "MFU vs ~48 %",
                None, {"output": out})]
