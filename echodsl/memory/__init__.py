"""Memory families as modules: context (frames), compression, spatial (summary), state.

Every module starts as an exact no-op on the target tokens (zero-initialised gates and
output projections), so an untrained profile reproduces the I2V model bit for bit.
"""

from echodsl.memory.base import MemoryInput, MemoryState, MemoryTokens

__all__ = ["MemoryInput", "MemoryState", "MemoryTokens"]
