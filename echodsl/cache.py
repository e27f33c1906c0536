"""Where echodsl keeps what it can rebuild: the built parser, latents, caption embeddings,
judge answers. One root for all of them, one subfolder each.

The root is ``$ECHODSL_CACHE``, else ``$XDG_CACHE_HOME/echodsl``, else ``~/.cache/echodsl``.
``$ECHODSL_CACHE_DIR``, the parser cache's older name, is still honoured after it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The folder every echodsl cache lives under (read from the environment at each call)."""
    for var in ("ECHODSL_CACHE", "ECHODSL_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "echodsl"
