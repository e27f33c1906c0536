"""Memory modules: what a design stores, how it compresses and how the targets read it.

``echodsl.families`` is the registry (torch-free): one package per storage family with
its typed configuration, language arguments, lowering, token and parameter arithmetic,
write policy across chunks, builder and storage modules. Here: ``base``, what crosses the
memory boundary and the pieces every family shares, and ``readouts``, one module per
read-out. Every module starts as an exact no-op on the target tokens (zero-initialised
gates and output projections).
"""
