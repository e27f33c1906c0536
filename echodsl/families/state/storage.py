"""The ``state`` storage module: a fixed-size recurrent state written frame by frame.

Each history frame is patch-embedded (plus pose embedding) and projected to the state
width; a recurrence folds it into a carry whose size does not depend on how many frames
were written, so a rollout writes only its new frames at constant cost per chunk.

Recurrences (``RECURRENCES``):
* ``gated_ema``: per token and channel, s ← (1 - z)·s + z·u with z = σ(W u) learned.
* ``causal_conv``: depthwise causal temporal convolution over the last ``kernel`` frames
  (the legacy hybrid); the carry is the last kernel-1 inputs.
* ``block_scan``: tokens averaged per spatial block (e.g. 4×4 patches); per block and
  channel a selective (input-dependent, diagonal) state-space scan over time with
  ``state`` dimensions; read back per token from its block.
* ``smoothing``: s ← α·s + (1 - α)·u with a fixed α.
* ``none``: the latest frame.

A masked frame leaves the carry unchanged. Read-outs: ``residual`` / ``cross_attention``
at every ``every``-th block (``echodsl.memory.readouts``) or ``none``.

Letters: B batch, M frames, n = hp*wp tokens per frame, E state width, K kernel,
P = gh*gw spatial blocks, Q scan state size, D model width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from echodsl.backbone.wan import WanBackbone
from echodsl.memory.base import MemoryInput, MemoryState, MemoryTokens, PoseEmbedding

Carry = dict[str, torch.Tensor]


def keep_where(keep: torch.Tensor, new: Carry, old: Carry) -> Carry:
    """Per sample, ``new`` where ``keep`` (B,) is True, else ``old``: a masked frame is a no-op."""
    return {k: torch.where(keep.view(-1, *[1] * (v.dim() - 1)), new[k], v) for k, v in old.items()}


class Recurrence(nn.Module):
    """A carry of fixed size: ``init_carry``, ``step`` (fold one frame), ``read``."""

    def scan(self, carry: Carry, u: torch.Tensor, mask: torch.Tensor) -> Carry:
        """Fold frames u (B, M, n, E) in order; a frame whose mask (B, M) is False leaves
        the carry unchanged."""
        for t in range(u.shape[1]):
            carry = keep_where(mask[:, t], self.step(carry, u[:, t]), carry)
        return carry


class GatedEMA(Recurrence):
    def __init__(self, width: int, settings: Any, token_grid: tuple[int, int]):
        super().__init__()
        self.gate = nn.Linear(width, width)

    def init_carry(self, u: torch.Tensor) -> Carry:
        return {"s": torch.zeros_like(u)}  # (B, n, E)

    def step(self, carry: Carry, u: torch.Tensor) -> Carry:
        z = torch.sigmoid(self.gate(u))  # (B, n, E)
        return {"s": (1 - z) * carry["s"] + z * u}

    def read(self, carry: Carry) -> torch.Tensor:
        return carry["s"]


class CausalConv(Recurrence):
    def __init__(self, width: int, settings: Any, token_grid: tuple[int, int]):
        super().__init__()
        self.kernel = settings.kernel
        self.weight = nn.Parameter(torch.full((self.kernel, width), 1.0 / self.kernel))  # mean at init

    def init_carry(self, u: torch.Tensor) -> Carry:
        b, n, e = u.shape
        return {"window": u.new_zeros(b, self.kernel - 1, n, e), "y": torch.zeros_like(u)}

    def step(self, carry: Carry, u: torch.Tensor) -> Carry:
        window = torch.cat([carry["window"], u[:, None]], dim=1)  # (B, K, n, E), oldest first
        y = (window * self.weight[:, None, :]).sum(dim=1)  # (B, n, E)
        return {"window": window[:, 1:], "y": y}

    def read(self, carry: Carry) -> torch.Tensor:
        return carry["y"]


class BlockScan(Recurrence):
    def __init__(self, width: int, settings: Any, token_grid: tuple[int, int]):
        super().__init__()
        self.block = tuple(settings.block)
        self.token_grid = token_grid
        q = settings.state
        self.dt = nn.Linear(width, width)
        self.to_b = nn.Linear(width, q)
        self.to_c = nn.Linear(width, q)
        self.a_log = nn.Parameter(torch.log(torch.arange(1, q + 1, dtype=torch.float32)).repeat(width, 1))  # (E, Q)
        self.skip = nn.Parameter(torch.ones(width))

    def blocks(self) -> tuple[int, int]:
        (hp, wp), (bh, bw) = self.token_grid, self.block
        return math.ceil(hp / bh), math.ceil(wp / bw)

    def init_carry(self, u: torch.Tensor) -> Carry:
        gh, gw = self.blocks()
        b, _, e = u.shape
        return {"h": u.new_zeros(b, gh * gw, e, self.a_log.shape[1]), "y": u.new_zeros(b, gh * gw, e)}

    def step(self, carry: Carry, u: torch.Tensor) -> Carry:
        return self.scan(carry, u[:, None], u.new_ones(u.shape[0], 1, dtype=torch.bool))

    def scan(self, carry: Carry, u: torch.Tensor, mask: torch.Tensor) -> Carry:
        # Everything but the recurrence itself depends on one frame alone, so it is computed
        # for all M frames in batched calls; the time loop keeps only the few ops that need
        # the carry (the write's cost grows with M, and this was most of it).
        (hp, wp), (b, m, n, e) = self.token_grid, u.shape
        grid = u.reshape(b * m, n, e).transpose(1, 2).reshape(b * m, e, hp, wp)  # (B*M, E, hp, wp)
        ub = F.avg_pool2d(grid, self.block, self.block, ceil_mode=True).flatten(2).transpose(1, 2)  # (B*M, P, E)
        ub = ub.reshape(b, m, -1, e)  # (B, M, P, E)
        dt = F.softplus(self.dt(ub))  # (B, M, P, E)
        decay = torch.exp(dt[..., None] * -torch.exp(self.a_log))  # (B, M, P, E, Q)
        drive = (dt * ub)[..., None] * self.to_b(ub)[..., None, :]  # (B, M, P, E, Q)
        c = self.to_c(ub)[..., None, :]  # (B, M, P, 1, Q)
        skip = self.skip * ub  # (B, M, P, E)
        for t in range(m):
            h = decay[:, t] * carry["h"] + drive[:, t]  # (B, P, E, Q)
            y = (h * c[:, t]).sum(-1) + skip[:, t]  # (B, P, E)
            carry = keep_where(mask[:, t], {"h": h, "y": y}, carry)
        return carry

    def read(self, carry: Carry) -> torch.Tensor:
        (hp, wp), (bh, bw), (gh, gw) = self.token_grid, self.block, self.blocks()
        y = carry["y"]
        b, _, e = y.shape
        y = y.transpose(1, 2).reshape(b, e, gh, gw)  # (B, E, gh, gw)
        y = y.repeat_interleave(bh, dim=2).repeat_interleave(bw, dim=3)[:, :, :hp, :wp]  # (B, E, hp, wp)
        return y.flatten(2).transpose(1, 2)  # (B, n, E)


class Smoothing(Recurrence):
    def __init__(self, width: int, settings: Any, token_grid: tuple[int, int]):
        super().__init__()
        self.alpha = float(settings.alpha)

    def init_carry(self, u: torch.Tensor) -> Carry:
        return {"s": torch.zeros_like(u)}

    def step(self, carry: Carry, u: torch.Tensor) -> Carry:
        return {"s": self.alpha * carry["s"] + (1 - self.alpha) * u}

    def read(self, carry: Carry) -> torch.Tensor:
        return carry["s"]


class Latest(Smoothing):
    def __init__(self, width: int, settings: Any, token_grid: tuple[int, int]):
        nn.Module.__init__(self)
        self.alpha = 0.0


RECURRENCES: dict[str, type[Recurrence]] = {
    "gated_ema": GatedEMA, "causal_conv": CausalConv, "block_scan": BlockScan, "smoothing": Smoothing, "none": Latest,
}


@dataclass(frozen=True)
class StateStorageConfig:
    dim: int  # model width D
    width: int  # state width E (the profile's state dim)
    recurrence: Any  # the profile's recurrence settings; its variant is a key of RECURRENCES
    token_grid: tuple[int, int]  # (hp, wp)
    history_frames: int
    fov_deg: float = 90.0


class StateStorage(nn.Module):
    kind = "state"

    def __init__(self, config: StateStorageConfig):
        super().__init__()
        self.config = config
        self.pose = PoseEmbedding(config.dim, config.history_frames, config.token_grid, config.fov_deg)
        self.encode = nn.Linear(config.dim, config.width)
        self.recurrence = RECURRENCES[config.recurrence.variant](config.width, config.recurrence, config.token_grid)

    def init_weights(self) -> None:
        """Nothing to zero: the state reaches the targets only through a zero-init read-out."""

    def write(self, backbone: WanBackbone, memory: MemoryInput, state: MemoryState | None = None) -> MemoryState:
        """Fold the new frames into the carry; cost is per frame, independent of the past."""
        b, m = memory.mask.shape
        first = 0 if state is None else state.frames
        u = self.encode(self.pose.frame_tokens(backbone, memory, first))  # (B, M, n, E)
        carry = self.recurrence.init_carry(u[:, 0]) if state is None else {
            k[len("carry."):]: v for k, v in state.tensors.items() if k.startswith("carry.")
        }
        seen = memory.mask.new_zeros(b) if state is None else state["seen"]
        carry = self.recurrence.scan(carry, u, memory.mask)
        seen = seen | memory.mask.any(dim=1)
        tensors = {f"carry.{k}": v for k, v in carry.items()}
        tensors["seen"] = seen
        return MemoryState(self.kind, tensors, frames=first + m)

    def read(self, state: MemoryState) -> MemoryTokens:
        carry = {k[len("carry."):]: v for k, v in state.tensors.items() if k.startswith("carry.")}
        y = self.recurrence.read(carry)  # (B, n, E)
        return MemoryTokens(y, state["seen"][:, None].expand(y.shape[0], y.shape[1]), slots=0)
