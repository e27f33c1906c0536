"""``storage state``: a fixed-size recurrent state, one vector per token position, written
frame by frame through the profile's recurrence. It scans its history oldest -> newest
(whatever order ``select`` gives), so it has seen every frame before the targets are
denoised. By default every rollout chunk scans its retrieved history anew, as training
does; with ``carry = true`` each chunk folds only its new frames into the carried state,
at constant cost per chunk (training then scans the contiguous frames before the
segment). The read-out attaches to every ``every``-th block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from echodsl.families.base import Family, StorageConfig, history_fields, linear, pose_embedding, reject_compression
from echodsl.families.history import HISTORY
from echodsl.params import AT_LEAST_1, Param

# A recurrence without an ``every`` argument attaches like the grammar's default.
DEFAULT_EVERY = 4


def _recurrence_parameters(name: str, args: dict[str, Any], width: int) -> int:
    """Parameters of ``storage.RECURRENCES[name]`` at state width E."""
    if name == "gated_ema":
        return linear(width, width)
    if name == "causal_conv":
        return args["kernel"] * width
    if name == "block_scan":
        q = args["state"]
        return linear(width, width) + 2 * linear(width, q) + width * q + width  # dt, B, C, A, skip
    return 0  # smoothing (fixed alpha) and none (the latest frame)


@dataclass(frozen=True)
class StateMemory(StorageConfig):
    kind: ClassVar[str] = "state"
    dim: int = 256  # state width E
    carry: bool = False  # fold new frames into the state across rollout chunks
    recurrence: str = "none"
    recurrence_args: dict[str, Any] = field(default_factory=dict)


class StateFamily(Family):
    storage = "state"
    config = StateMemory
    arguments = {
        **HISTORY,
        "dim": Param("int", 256, AT_LEAST_1),
        # false: every chunk of a rollout writes the state anew from its retrieved history,
        # as training does. true: the state folds every generated frame in order across
        # chunks, and training scans the contiguous frames before the segment (recent or tail).
        "carry": Param("bool", False, doc="carry the state across rollout chunks"),
    }
    default_readout = {"variant": "residual", "args": {}}
    readouts = ("cross_attention", "residual")
    recurrent = True
    scans = True

    def name(self, profile) -> str:
        return "state"

    def lower(self, profile, backbone) -> StateMemory:
        reject_compression(profile)
        return StateMemory(**history_fields(profile), chronological=True, dim=profile.storage["dim"],
                           carry=bool(profile.storage.get("carry")),
                           recurrence=profile.recurrence.variant, recurrence_args=dict(profile.recurrence.args))

    def carries(self, config: StateMemory) -> bool:
        return config.carry

    def tokens(self, config: StateMemory, backbone) -> int:
        return backbone.tokens_per_frame

    def width(self, config: StateMemory, backbone) -> int:
        return config.dim

    def attach(self, config: StateMemory, profile, backbone) -> tuple[int, ...]:
        return tuple(range(0, backbone.num_layers, config.recurrence_args.get("every", DEFAULT_EVERY)))

    def parameters(self, config: StateMemory, backbone) -> int:
        return (pose_embedding(backbone.dim, config.memory_frames) + linear(backbone.dim, config.dim)
                + _recurrence_parameters(config.recurrence, config.recurrence_args, config.dim))

    def build(self, config: StateMemory, backbone):
        from echodsl.families.state.storage import StateStorage, StateStorageConfig

        return StateStorage(StateStorageConfig(backbone.dim, config.dim, config.recurrence, backbone.grid,
                                      config.memory_frames, dict(config.recurrence_args), backbone.fov_deg))


FAMILY = StateFamily()
