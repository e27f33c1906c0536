"""The history every storage family reads, as language arguments (torch-free): ``k`` and
``select``, with one default for all.
"""

from __future__ import annotations

from echodsl.params import AT_LEAST_1, REQUIRED, Param, Range

SELECT_VARIANTS: dict[str, dict[str, Param]] = {
    "fov": {
        "samples": Param("int", 512, AT_LEAST_1, doc="points sampled in the target frustum"),
        "recency": Param("float", 0.0, Range(lo=0), doc="bonus for newer frames: score + recency × position / (C - 1)"),
        # middle: the segment's middle frame, as Context-as-Memory's R_FOV((s+e)/2, {j < s}, K-1);
        # targets: the union of every target frame's frustum.
        "key": Param("choice", "middle", choices=("middle", "targets"), doc="whose frustum the candidates must see"),
        # symmetric: mean of both ways, each inside the depth range; bounded: the key's frustum
        # inside the candidate's depth range; unbounded: anywhere in front (a camera further
        # back facing the same way then scores 1.0).
        "overlap": Param("choice", "symmetric", choices=("symmetric", "bounded", "unbounded"),
                         doc="how overlap is counted"),
        # 3 m: about the embedded world's room half-size (beyond it the walls hide the rest);
        # it ranks the same-place earlier view first more often than 6 m on every family of
        # benchmarks/retrieval.py.
        "far": Param("float", 3.0, Range(lo=0.3, lo_open=True), doc="far limit of the compared frusta, metres"),
    },
    "recent": {},
    "uniform": {},
    # The n frames just before the segment, newest first (the released Echo-Memory code's
    # order); it fixes k = n + 1.
    "tail": {"n": Param("int", REQUIRED, AT_LEAST_1, doc="frames just before the segment")},
}
# The history every storage family reads, with one default for all: the same K frames
# retrieved by field-of-view overlap, so families differ only in how they store and read it.
DEFAULT_K = 5
HISTORY: dict[str, Param] = {
    "k": Param("int", DEFAULT_K, AT_LEAST_1, doc="history frames, anchor included"),
    "select": Param("call", {"variant": "fov", "args": {}}, variants=SELECT_VARIANTS),
}
