"""Memory families: what a design stores, how it compresses and how the targets read it.

``echodsl.memory.families`` is the registry (torch-free): one file per storage family
with its typed configuration, lowering, token and parameter arithmetic, write policy
across chunks and builder. The modules themselves live beside it (``context``,
``compression``, ``spatial``, ``state``, ``readout``; ``base`` holds what crosses the
memory boundary). Every module starts as an exact no-op on the target tokens
(zero-initialised gates and output projections).
"""
