"""The v1 vocabulary of ``.mem``: every clause, variant and argument, as plain dicts.

This table *is* the language reference's table (docs/language.md is generated from it). The checker is driven by it: adding a variant is
one entry here (plus the module that implements it), never a new code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from echodsl.presets import PRESETS as BACKBONE_PRESETS


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Range:
    """Numeric bounds; ``None`` means unbounded on that side."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: lo itself is excluded
    hi_open: bool = False

    def contains(self, v: float) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '≥'} {_num(self.lo)}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '≤'} {_num(self.hi)}")
        return " and ".join(parts)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


@dataclass(frozen=True)
class Param:
    """One argument of a variant.

    ``type`` is one of ``int``, ``float``, ``bool``, ``size``, ``string``, ``choice`` (a
    bare name out of ``choices``) or ``call`` (a nested ``variant(...)`` out of ``variants``).
    """

    type: str
    default: Any = REQUIRED
    range: Range | None = None
    choices: tuple[str, ...] = ()
    variants: dict[str, dict[str, "Param"]] = field(default_factory=dict)
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


AT_LEAST_1 = Range(lo=1)
POSITIVE = Range(lo=0, lo_open=True)

SELECT_VARIANTS: dict[str, dict[str, Param]] = {
    "fov": {
        "samples": Param("int", 512, AT_LEAST_1, doc="points sampled in the target frustum"),
        "recency": Param("float", 0.0, Range(lo=0), doc="weight of recency in the tie-break"),
    },
    "recent": {},
    "uniform": {},
}
RATIO = Param("int", REQUIRED, Range(lo=2), doc="r:1 temporal pooling; 2 ≤ ratio ≤ k")

# clause -> variant -> argument -> Param. The first variant listed is the default.
PROFILE_CLAUSES: dict[str, dict[str, dict[str, Param]]] = {
    "storage": {
        "none": {},
        "frames": {
            "k": Param("int", REQUIRED, AT_LEAST_1, doc="frames of context, anchor included"),
            "select": Param("call", {"variant": "fov", "args": {}}, variants=SELECT_VARIANTS),
        },
        "summary": {
            "grid": Param("size", (8, 8), doc="summary tokens per side"),
            "pool": Param("choice", "mean", choices=("mean", "max")),
        },
        "state": {"dim": Param("int", 256, AT_LEAST_1)},
    },
    "compression": {
        "none": {},
        "weights": {},
        "length": {"ratio": RATIO},
        "hybrid": {"ratio": RATIO},
    },
    "readout": {
        "none": {},
        "joint": {
            "placement": Param("choice", "suffix", choices=("suffix", "prefix")),
            # none: memory keys join the targets' own softmax, as Context-as-Memory concatenates
            # frames. zero: a separate memory softmax behind a zero-initialised gate, so step 0
            # equals I2V exactly (for fine-tuning a pretrained backbone); it starves the memory
            # path when a small backbone is trained from scratch.
            "gate": Param("choice", "none", choices=("none", "zero"), doc="how memory enters the softmax"),
        },
        "cross_attention": {
            "heads": Param("int", 4, AT_LEAST_1),
            "dedicated": Param("bool", True, doc="one layer per block vs one shared layer"),
        },
        "text_concat": {},
        "residual": {},
    },
    "recurrence": {
        "none": {},
        "gated_ema": {"every": Param("int", 4, AT_LEAST_1)},
        "causal_conv": {"kernel": Param("int", 3, Range(lo=2)), "every": Param("int", 4, AT_LEAST_1)},
        "block_scan": {
            "block": Param("size", (4, 4)),
            "state": Param("int", 16, AT_LEAST_1),
            "every": Param("int", 4, AT_LEAST_1),
        },
        "smoothing": {"alpha": Param("float", 0.9, Range(lo=0, hi=1, lo_open=True, hi_open=True))},
    },
    "action": {
        "relative_rt": {"inject": Param("choice", "pre_norm", choices=("pre_norm", "post_attn"))},
        "none": {},
    },
}
PROFILE_CLAUSE_ORDER = tuple(PROFILE_CLAUSES)

# The read-out a profile gets when it writes none, keyed by storage variant.
DEFAULT_READOUT: dict[str, dict[str, Any]] = {
    "none": {"variant": "none", "args": {}},
    "frames": {"variant": "joint", "args": {"placement": "suffix", "gate": "none"}},
    "summary": {"variant": "cross_attention", "args": {"heads": 4, "dedicated": False}},
    "state": {"variant": "residual", "args": {}},
}

# Which storage variants each read-out / compression / recurrence can work with.
READOUT_REQUIRES: dict[str, tuple[str, ...]] = {
    "joint": ("frames", "summary"),
    "cross_attention": ("frames", "summary", "state"),
    "text_concat": ("summary",),
    "residual": ("state",),
}
COMPRESSION_REQUIRES = ("frames",)
RECURRENCE_REQUIRES = ("state",)

PRESETS = tuple(BACKBONE_PRESETS)

STUDY_CLAUSES: dict[str, dict[str, dict[str, Param]]] = {
    "backbone": {
        "wan": {
            # exactly one of preset/config; neither means preset = tiny (checker rule)
            "preset": Param("choice", None, choices=PRESETS),
            "config": Param("string", None, doc="path to a diffusers config.json or its directory"),
        },
    },
    "data": {
        "world": {
            "scenes": Param("int", 64, AT_LEAST_1),
            # fine: 0.5 m wall blocks in 4 rows, 0.75 m floor tiles. coarse: 1.5 m blocks in 2
            # rows, 1.5 m tiles: at 32x32 a roughly aligned copy from memory then beats a blur.
            "detail": Param("choice", "fine", choices=("fine", "coarse"), doc="texture scale of the rooms"),
            "drift": Param("float", 0.03, Range(lo=0, hi=0.5), doc="camera translation per training frame, metres"),
        },
        "cam": {"root": Param("string", REQUIRED, doc="a Context-as-Memory root directory")},
        "mind": {"root": Param("string", REQUIRED, doc="a MIND benchmark root (its clips drive rollouts)")},
    },
    "train": {
        "flow": {
            "steps": Param("int", 5000, AT_LEAST_1),
            "lr": Param("float", 5e-5, POSITIVE),
            "batch": Param("int", 1, AT_LEAST_1),
            "shift": Param("float", 15.0, POSITIVE, doc="timestep shift"),
            "noise_shift": Param("float", 1.0, POSITIVE),
            "spike": Param("float", 15.0, POSITIVE, doc="spike-rejection threshold"),
            "overlap_drop": Param("float", 0.1, Range(lo=0, hi=1, hi_open=True)),
            "pretrain": Param("int", 0, Range(lo=0), doc="steps of one shared I2V backbone that every "
                              "profile and seed of the study starts from (0: every run starts from scratch)"),
            "probe_every": Param("int", 0, Range(lo=0), doc="steps between memory-use diagnostics (0: only at the end)"),
        },
    },
    "eval": {
        "replay": {},
        "return": {
            "domain": Param("choice", REQUIRED, choices=("in", "open")),
            "judge": Param("choice", "rubric", choices=("rubric", "openai")),
        },
    },
}
# Study clauses written as comma lists; the others take exactly one value.
LIST_CLAUSES = ("eval", "profiles", "seeds")
STUDY_CLAUSE_ORDER = ("backbone", "data", "train", "eval", "profiles", "seeds")
DEFAULT_EVAL = (
    {"variant": "replay", "args": {}},
    {"variant": "return", "args": {"domain": "in", "judge": "rubric"}},
    {"variant": "return", "args": {"domain": "open", "judge": "rubric"}},
)


def default_value(param: Param) -> Any:
    """The resolved default of an optional argument (nested calls get their own defaults)."""
    if param.type == "call":
        variant = param.default["variant"]
        return {"variant": variant, "args": {n: default_value(p) for n, p in param.variants[variant].items()}}
    return param.default


def default_clause(clause: str) -> dict[str, Any]:
    variant, params = next(iter(PROFILE_CLAUSES[clause].items()))
    return {"variant": variant, "args": {n: default_value(p) for n, p in params.items()}}
