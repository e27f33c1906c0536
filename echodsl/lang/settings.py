"""Typed, frozen settings of a resolved spec: what every stage after the checker reads (torch-free).

A resolved ``Variant`` stays the stored form (hashes, JSON, run directories); its settings
are the typed view of it, one frozen dataclass per clause variant, e.g. ``storage
frames(k = 5)`` becomes ``StorageFrames(k=5, select=SelectFov(...))``. Downstream code
reads ``profile.settings.storage.k``, never ``variant.args["k"]``.

The classes hold no defaults: the schema (``schema.py``) is the one place that does. The
checker fills every default, so a checked variant has every argument already; a variant
read back from an older run directory may lack an argument added since, and
:func:`settings_of` fills it from the schema (or, where an argument's absence meant
something else before it existed, from ``RECORDED_BEFORE``). A test checks that every
schema variant has its class here with exactly the schema's arguments, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, make_dataclass
from functools import cache
from typing import Any, ClassVar

from echodsl.lang.schema import (DEFAULT_EVERY, DEFAULT_PRESET, PROFILE_CLAUSES, SELECT_VARIANTS, STUDY_CLAUSES, Param,
                                 default_value)


class Settings:
    """Base of every settings class: ``clause`` and ``variant`` name what it stands for.

    ``derived`` lists fields that are no argument of the language but recorded beside the
    arguments when a study is planned (the backbone's weight digests)."""

    clause: ClassVar[str]
    variant: ClassVar[str]
    derived: ClassVar[tuple[str, ...]] = ()


# ---------------------------------------------------------------- history: select(...)

class _Select(Settings):
    @property
    def fov(self) -> "SelectFov":
        """The fov ranking a plan records for this history: its own for ``fov``; any other
        select records the defaults, which its sampler ignores."""
        return settings_of("select", "fov")


@dataclass(frozen=True)
class SelectFov(_Select):
    clause, variant = "select", "fov"
    samples: int
    recency: float
    key: str  # middle | targets
    overlap: str  # symmetric | bounded | unbounded
    far: float  # metres

    @property
    def fov(self) -> "SelectFov":
        return self


@dataclass(frozen=True)
class SelectRecent(_Select):
    clause, variant = "select", "recent"


@dataclass(frozen=True)
class SelectUniform(_Select):
    clause, variant = "select", "uniform"


@dataclass(frozen=True)
class SelectTail(_Select):
    clause, variant = "select", "tail"
    n: int


Select = SelectFov | SelectRecent | SelectUniform | SelectTail


# ---------------------------------------------------------------- storage

@dataclass(frozen=True)
class StorageNone(Settings):
    """No memory: the history is the anchor alone (k = 1), so nothing is selected."""

    clause, variant = "storage", "none"
    k: ClassVar[int] = 1

    @property
    def select(self) -> "SelectFov":
        return settings_of("select", "fov")


@dataclass(frozen=True)
class StorageFrames(Settings):
    clause, variant = "storage", "frames"
    k: int  # history frames, anchor included
    select: Select


@dataclass(frozen=True)
class StorageSummary(Settings):
    clause, variant = "storage", "summary"
    k: int
    select: Select
    grid: tuple[int, int]
    pool: str  # mean | max


@dataclass(frozen=True)
class StorageState(Settings):
    clause, variant = "storage", "state"
    k: int
    select: Select
    dim: int
    carry: bool


# ---------------------------------------------------------------- compression

@dataclass(frozen=True)
class CompressionNone(Settings):
    clause, variant = "compression", "none"


@dataclass(frozen=True)
class CompressionWeights(Settings):
    clause, variant = "compression", "weights"


@dataclass(frozen=True)
class CompressionLength(Settings):
    clause, variant = "compression", "length"
    ratio: int


@dataclass(frozen=True)
class CompressionHybrid(Settings):
    clause, variant = "compression", "hybrid"
    ratio: int


@dataclass(frozen=True)
class CompressionMoc(Settings):
    clause, variant = "compression", "moc"
    temperature: float
    top: int


# ---------------------------------------------------------------- readout

@dataclass(frozen=True)
class ReadoutNone(Settings):
    clause, variant = "readout", "none"


@dataclass(frozen=True)
class ReadoutJoint(Settings):
    clause, variant = "readout", "joint"
    placement: str  # suffix | prefix
    gate: str  # none | zero


@dataclass(frozen=True)
class ReadoutCrossAttention(Settings):
    clause, variant = "readout", "cross_attention"
    heads: int
    dedicated: bool


@dataclass(frozen=True)
class ReadoutTextConcat(Settings):
    clause, variant = "readout", "text_concat"


@dataclass(frozen=True)
class ReadoutResidual(Settings):
    clause, variant = "readout", "residual"


# ---------------------------------------------------------------- recurrence
# Every recurrence has ``every`` (the read-out attaches to every ``every``-th block); those
# that take no such argument attach like the default.

@dataclass(frozen=True)
class RecurrenceNone(Settings):
    clause, variant = "recurrence", "none"

    @property
    def every(self) -> int:
        return DEFAULT_EVERY


@dataclass(frozen=True)
class RecurrenceGatedEma(Settings):
    clause, variant = "recurrence", "gated_ema"
    every: int


@dataclass(frozen=True)
class RecurrenceCausalConv(Settings):
    clause, variant = "recurrence", "causal_conv"
    kernel: int
    every: int


@dataclass(frozen=True)
class RecurrenceBlockScan(Settings):
    clause, variant = "recurrence", "block_scan"
    block: tuple[int, int]
    state: int
    every: int


@dataclass(frozen=True)
class RecurrenceSmoothing(Settings):
    clause, variant = "recurrence", "smoothing"
    alpha: float

    @property
    def every(self) -> int:
        return DEFAULT_EVERY


# ---------------------------------------------------------------- action

@dataclass(frozen=True)
class ActionRelativeRt(Settings):
    clause, variant = "action", "relative_rt"
    inject: str  # pre_norm | post_attn


@dataclass(frozen=True)
class ActionNone(Settings):
    clause, variant = "action", "none"
    inject: ClassVar[str | None] = None  # no action, nothing injected


# ---------------------------------------------------------------- study setup

@dataclass(frozen=True)
class BackboneWan(Settings):
    clause, variant = "backbone", "wan"
    derived = ("weights_sha256", "vae_sha256", "text_encoder_sha256")
    preset: str | None  # None when a config file describes the model
    config: str | None
    weights: str | None
    text_encoder: str | None
    vae: str | None
    weights_sha256: str | None  # digests recorded when the study is planned (None: not recorded)
    vae_sha256: str | None
    text_encoder_sha256: str | None

    @property
    def base_preset(self) -> str:
        """The preset whose geometry the model has (a config file keeps the default's latents)."""
        return self.preset or DEFAULT_PRESET


@dataclass(frozen=True)
class DataWorld(Settings):
    clause, variant = "data", "world"
    scenes: int
    detail: str  # fine | coarse
    drift: float  # metres per training frame


@dataclass(frozen=True)
class DataCam(Settings):
    clause, variant = "data", "cam"
    root: str


@dataclass(frozen=True)
class DataMind(Settings):
    clause, variant = "data", "mind"
    root: str
    split: str  # train | test


@dataclass(frozen=True)
class TrainFlow(Settings):
    """The ``train flow(...)`` recipe: one definition for the trainer and the rollout."""

    clause, variant = "train", "flow"
    steps: int
    lr: float
    batch: int
    shift: float  # timestep shift (training and sampling)
    noise_shift: float  # scale of the flow's Gaussian noise (1.0 = standard path)
    spike: float  # skip a step whose loss exceeds spike × the running mean
    overlap_drop: float  # chance a segment's retrieved memory is dropped (anchor kept)
    pretrain: int  # steps of the shared I2V backbone every run starts from (0: from scratch)
    probe_every: int  # steps between memory-use diagnostics during training (0: never)
    checkpointing: str  # "blocks": recompute each transformer block in backward
    dtype: str  # parameter dtype: "bf16" halves weights, gradients and AdamW states
    accumulate: int  # micro-batches per optimizer step (the batch is split into them)


@dataclass(frozen=True)
class EvalReplay(Settings):
    clause, variant = "eval", "replay"


@dataclass(frozen=True)
class EvalReturn(Settings):
    clause, variant = "eval", "return"
    domain: str  # in | open
    judge: str  # rubric | openai


# (clause, variant) -> its settings class; ``select`` is the history's nested call.
SETTINGS: dict[tuple[str, str], type[Settings]] = {
    (cls.clause, cls.variant): cls for cls in (
        SelectFov, SelectRecent, SelectUniform, SelectTail,
        StorageNone, StorageFrames, StorageSummary, StorageState,
        CompressionNone, CompressionWeights, CompressionLength, CompressionHybrid, CompressionMoc,
        ReadoutNone, ReadoutJoint, ReadoutCrossAttention, ReadoutTextConcat, ReadoutResidual,
        RecurrenceNone, RecurrenceGatedEma, RecurrenceCausalConv, RecurrenceBlockScan, RecurrenceSmoothing,
        ActionRelativeRt, ActionNone,
        BackboneWan, DataWorld, DataCam, DataMind, TrainFlow, EvalReplay, EvalReturn,
    )
}

# Arguments added to the language after runs were recorded without them, whose absence
# meant something other than today's default: MIND data recorded before ``split`` existed
# trained on the test clips.
RECORDED_BEFORE: dict[tuple[str, str], dict[str, Any]] = {("data", "mind"): {"split": "test"}}


def parameters(clause: str, variant: str) -> dict[str, Param]:
    """The schema's arguments of ``clause variant(...)`` (``select`` is the history's call)."""
    if clause == "select":
        return SELECT_VARIANTS[variant]
    table = PROFILE_CLAUSES if clause in PROFILE_CLAUSES else STUDY_CLAUSES
    return table[clause][variant]


def settings_of(clause: str, value: Any) -> Settings:
    """The settings of one resolved clause: a ``Variant``, its JSON form, or a bare variant
    name (every argument then takes its default); settings are returned as they are."""
    if isinstance(value, Settings):
        return value
    variant, args = _variant_and_args(value)
    cls = SETTINGS.get((clause, variant)) or _untyped(clause, variant)
    params = parameters(clause, variant)
    before = RECORDED_BEFORE.get((clause, variant), {})
    values = {}
    for f in fields(cls):
        if f.name in args:
            values[f.name] = _typed(params.get(f.name), args[f.name])
        elif f.name in before:
            values[f.name] = before[f.name]
        elif f.name in params:
            values[f.name] = _typed(params[f.name], default_value(params[f.name]))
        else:  # a derived field not recorded
            values[f.name] = None
    return cls(**values)


@cache
def _untyped(clause: str, variant: str) -> type[Settings]:
    """A frozen settings class made from the schema, for a variant that has none above yet
    (a family being added); a test requires a written class for every shipped variant."""
    names = tuple(parameters(clause, variant))
    cls = make_dataclass("".join(w.title() for w in f"{clause}_{variant}".split("_")), names,
                         bases=(Settings,), frozen=True)
    cls.clause, cls.variant = clause, variant
    return cls


def _variant_and_args(value: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict):
        return value["variant"], value.get("args", {})
    return value.variant, value.args


def _typed(param: Param | None, value: Any) -> Any:
    """``value`` as its parameter's type: nested calls become settings, sizes tuples."""
    if param is None or value is None:
        return value
    if param.type == "call":
        return settings_of("select", value)
    if param.type == "size":
        return tuple(int(v) for v in value)
    if param.type == "float":
        return float(value)
    if param.type == "int":
        return int(value)
    if param.type == "bool":
        return bool(value)
    return value


@dataclass(frozen=True)
class ProfileSettings:
    """A profile's five clauses as settings."""

    storage: StorageNone | StorageFrames | StorageSummary | StorageState
    compression: CompressionNone | CompressionWeights | CompressionLength | CompressionHybrid | CompressionMoc
    readout: ReadoutNone | ReadoutJoint | ReadoutCrossAttention | ReadoutTextConcat | ReadoutResidual
    recurrence: RecurrenceNone | RecurrenceGatedEma | RecurrenceCausalConv | RecurrenceBlockScan | RecurrenceSmoothing
    action: ActionRelativeRt | ActionNone


@dataclass(frozen=True)
class SetupSettings:
    """A study's fixed setup as settings: backbone, data, recipe and evaluation plan."""

    backbone: BackboneWan
    data: DataWorld | DataCam | DataMind
    train: TrainFlow
    eval: tuple[EvalReplay | EvalReturn, ...]


def profile_settings(clauses: dict[str, Any]) -> ProfileSettings:
    """``clauses``: clause name -> resolved Variant (``Profile.clauses()``)."""
    return ProfileSettings(**{c: settings_of(c, v) for c, v in clauses.items()})


def setup_settings(backbone: Any, data: Any, train: Any, eval: Any) -> SetupSettings:  # noqa: A002
    return SetupSettings(settings_of("backbone", backbone), settings_of("data", data), settings_of("train", train),
                         tuple(settings_of("eval", e) for e in eval))
