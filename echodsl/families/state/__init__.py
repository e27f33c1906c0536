"""``storage state``: a fixed-size recurrent state, one vector per token position, written
frame by frame through the profile's recurrence. It scans its history oldest -> newest
(whatever order ``select`` gives), so it has seen every frame before the targets are
denoised. By default every rollout chunk scans its retrieved history anew, as training
does; with ``carry = true`` each chunk folds only its new frames into the carried state,
at constant cost per chunk (training then scans the contiguous frames before the
segment). The read-out attaches to every ``every``-th block."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from echodsl.families.base import Family, StorageConfig, linear, pose_embedding, reject_compression
from echodsl.families.history import HISTORY
from echodsl.params import AT_LEAST_1, Param


def _recurrence_parameters(recurrence: Any, width: int) -> int:
    """Parameters of ``memory.state.RECURRENCES[recurrence.variant]`` at state width E."""
    if recurrence.variant == "gated_ema":
        return linear(width, width)
    if recurrence.variant == "causal_conv":
        return recurrence.kernel * width
    if recurrence.variant == "block_scan":
        q = recurrence.state
        return linear(width, width) + 2 * linear(width, q) + width * q + width  # dt, B, C, A, skip
    return 0  # smoothing (fixed alpha) and none (the latest frame)


@dataclass(frozen=True)
class StateMemory(StorageConfig):
    kind: ClassVar[str] = "state"
    dim: int  # state width E
    carry: bool  # fold new frames into the state across rollout chunks
    recurrence: Any  # the profile's recurrence settings (``.variant``, ``.every``, its arguments)

    def to_json(self) -> dict[str, Any]:
        """The recorded form: the recurrence as its variant name and its arguments."""
        data = super().to_json()
        data.update(recurrence=self.recurrence.variant, recurrence_args=asdict(self.recurrence))
        return data


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
        settings = profile.settings
        return StateMemory(**self.history(profile), dim=settings.storage.dim,
                           carry=settings.storage.carry, recurrence=settings.recurrence)

    def carries(self, config: StateMemory) -> bool:
        return config.carry

    def tokens(self, config: StateMemory, backbone) -> int:
        return backbone.tokens_per_frame

    def width(self, config: StateMemory, backbone) -> int:
        return config.dim

    def attach(self, config: StateMemory, profile, backbone) -> tuple[int, ...]:
        return tuple(range(0, backbone.num_layers, config.recurrence.every))

    def parameters(self, config: StateMemory, backbone) -> int:
        return (pose_embedding(backbone.dim, config.memory_frames) + linear(backbone.dim, config.dim)
                + _recurrence_parameters(config.recurrence, config.dim))

    def build(self, config: StateMemory, backbone):
        from echodsl.families.state.storage import StateStorage, StateStorageConfig

        return StateStorage(StateStorageConfig(backbone.dim, config.dim, config.recurrence, backbone.grid,
                                               config.memory_frames, backbone.fov_deg))


FAMILY = StateFamily()
