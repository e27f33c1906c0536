"""The v1 vocabulary of ``.mem``: every clause, variant and argument, as plain dicts.

This table *is* the language reference's table (docs/language.md is generated from it). The checker is driven by it: adding a variant is
one entry here (plus the module that implements it), never a new code path. The storage
variants are the memory families': each family declares its own arguments, default read-out
and which read-outs, compressions and recurrences it takes (``echodsl.families``).
"""

from __future__ import annotations

from typing import Any

from echodsl.families import FAMILIES
from echodsl.families.history import DEFAULT_K, HISTORY, SELECT_VARIANTS  # noqa: F401  (the language's names)
from echodsl.params import AT_LEAST_1, POSITIVE, REQUIRED, Param, Range  # noqa: F401
from echodsl.presets import PRESETS as BACKBONE_PRESETS

RATIO = Param("int", REQUIRED, Range(lo=2), doc="r:1 temporal pooling; 2 ≤ ratio ≤ k")
# A recurrence's read-out attaches to every `every`-th block; one that takes no `every`
# (smoothing, none) attaches the same way.
DEFAULT_EVERY = 4
EVERY = Param("int", DEFAULT_EVERY, AT_LEAST_1)

# clause -> variant -> argument -> Param. The first variant listed is the default.
PROFILE_CLAUSES: dict[str, dict[str, dict[str, Param]]] = {
    "storage": {name: family.arguments for name, family in FAMILIES.items()},
    "compression": {
        "none": {},
        "weights": {},
        "length": {"ratio": RATIO},
        "hybrid": {"ratio": RATIO},
        # Mixture of contexts: no parameters; stored frames re-weighted by a softmax over the
        # cosine similarity of each frame's mean token to the targets' mean token.
        "moc": {
            "temperature": Param("float", 0.1, POSITIVE, doc="softmax temperature"),
            "top": Param("int", 0, Range(lo=0), doc="keep only the n most similar frames (0: all)"),
        },
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
        "gated_ema": {"every": EVERY},
        "causal_conv": {"kernel": Param("int", 3, Range(lo=2)), "every": EVERY},
        "block_scan": {
            "block": Param("size", (4, 4)),
            "state": Param("int", 16, AT_LEAST_1),
            "every": EVERY,
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
DEFAULT_READOUT: dict[str, dict[str, Any]] = {name: family.default_readout for name, family in FAMILIES.items()}

# Which storage variants each read-out / compression / recurrence can work with.
READOUT_REQUIRES: dict[str, tuple[str, ...]] = {
    readout: tuple(name for name, family in FAMILIES.items() if readout in family.readouts)
    for readout in PROFILE_CLAUSES["readout"] if readout != "none"}
COMPRESSION_REQUIRES = tuple(name for name, family in FAMILIES.items() if family.compresses)
RECURRENCE_REQUIRES = tuple(name for name, family in FAMILIES.items() if family.recurrent)

PRESETS = tuple(BACKBONE_PRESETS)
# The judge of a study's open-domain return branch, and of a plan that has none.
DEFAULT_JUDGE = "rubric"
DEFAULT_PRESET = "tiny"  # a backbone with neither preset nor config; a config keeps its latent geometry

STUDY_CLAUSES: dict[str, dict[str, dict[str, Param]]] = {
    "backbone": {
        "wan": {
            # exactly one of preset/config; neither means preset = DEFAULT_PRESET (checker rule)
            "preset": Param("choice", None, choices=PRESETS),
            "config": Param("string", None, doc="path to a diffusers config.json or its directory"),
            "weights": Param("string", None, doc="pretrained transformer: a local diffusers folder or the "
                             "release's diffusion_pytorch_model.safetensors (none: random init)"),
            "text_encoder": Param("string", None, doc="a local umT5 encoder folder with its tokenizer "
                                  "(none: hashed word embeddings of the captions)"),
            "vae": Param("string", None, doc="the Wan VAE: a local diffusers folder or the release's "
                         "Wan2.1_VAE.pth (none: the tiny test VAE)"),
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
        "mind": {
            "root": Param("string", REQUIRED, doc="a MIND benchmark root"),
            # test: the clips `export mind` is scored on; training on them is refused (E126)
            "split": Param("choice", "train", choices=("train", "test"), doc="the clips trained on; test, the clips MIND scores, is refused"),
        },
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
            "checkpointing": Param("choice", "none", choices=("none", "blocks"), doc="activation checkpointing: "
                                   "blocks recomputes every transformer block in the backward pass"),
            "dtype": Param("choice", "fp32", choices=("fp32", "bf16"), doc="parameter dtype (bf16 also halves "
                           "gradients and AdamW states; CUDA autocasts to bf16 either way)"),
            "accumulate": Param("int", 1, AT_LEAST_1, doc="micro-batches per optimizer step; must divide batch"),
        },
    },
    "eval": {
        "replay": {},
        "return": {
            "domain": Param("choice", REQUIRED, choices=("in", "open")),
            "judge": Param("choice", DEFAULT_JUDGE, choices=("rubric", "openai")),
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
