"""Read-outs: how the targets read a family's memory, one module per ``readout`` variant.

``base`` holds the ``Readout`` class every read-out extends; ``joint``, ``cross_attention``,
``text_concat`` and ``residual`` are the language's read-outs (their torch-free description
and arithmetic are in ``echodsl.families.readouts``).
"""
