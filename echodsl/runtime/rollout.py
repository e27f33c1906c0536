"""Chunk-wise autoregressive generation along a camera trajectory, memory carried across chunks.

Chunk c generates ``segment_frames - 1`` frames conditioned on its anchor (the last frame
generated so far, clean) and on the profile's memory of everything before the anchor.
Every family writes its memory exactly as the trainer's sampler does: the same history
call (``history.pick_history``, looked up through the module so both paths share one
function) over the generated history, anew every chunk. Only a state with
``carry = true`` is written incrementally: ``write_memory`` folds the frames new since the
last chunk into the carried state, so a chunk costs the same however long the rollout.

The Euler sampler integrates the flow from t = 1 to 0 on the training shift's schedule.
Deterministic for a given seed. Letters: T trajectory frames, F segment frames, M memory
frames, C channels, h/w latent grid, L text tokens, D text width.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from echodsl.compiler import MemoryPlan
from echodsl.data.camera import relative_actions
from echodsl.data import history as histories
from echodsl.data import retriever
from echodsl.memory.base import MemoryInput, MemoryState
from echodsl.families import family_of
from echodsl.runtime.flow import frame_timesteps, sampling_schedule
from echodsl.data.seeding import stable_seed


@dataclass(frozen=True)
class RolloutConfig:
    steps: int = 16  # Euler steps per chunk
    shift: float = 15.0  # the training shift (same schedule family)
    noise_shift: float = 1.0
    seed: int = 0


@dataclass
class Trajectory:
    """What to follow: poses (T, 4, 4), intrinsics (3, 3), frame size, caption embedding (L, D),
    the first frame's latents (C, h, w), and optionally ``observed`` (N, C, h, w): frames
    1..N given as they were observed (ground truth) rather than generated. Generation then
    starts after frame N, and the given frames are history like generated ones: memory is
    written from them by the same path (retriever or incremental writes)."""

    poses: torch.Tensor
    intrinsics: torch.Tensor
    height: int
    width: int
    text: torch.Tensor
    first: torch.Tensor
    observed: torch.Tensor | None = None

    @classmethod
    def from_sequence(cls, seq, cache, text_config, first: int = 0, observed: int = 1) -> "Trajectory":
        """A data-layer ``Sequence`` from frame ``first`` on; its first ``observed`` frames
        (at least 1) are encoded by ``cache`` and given, the rest generated."""
        from echodsl.data.text import embed_caption

        assert 1 <= observed <= len(seq) - first, f"observed {observed} of {len(seq) - first} frames"
        poses = seq.poses[first:]
        latents = cache.encode(seq.frames(list(range(first, first + observed)))).float()  # (observed, C, h, w)
        return cls(poses, seq.intrinsics, seq.height, seq.width, embed_caption(seq.caption, text_config),
                   latents[0], latents[1:] if observed > 1 else None)


@dataclass
class Rollout:
    latents: torch.Tensor  # (T, C, h, w); the given frames (first, then observed) come first
    chunks: list[tuple[int, int]]  # [start, end) frame ranges each chunk generated
    chunk_seconds: list[float] = field(default_factory=list)
    memory_bytes: list[int] = field(default_factory=list)  # size of the memory each chunk read
    # per chunk: the history positions written into memory, in write order (for a carried
    # state the frames new since the last chunk)
    memory_indices: list[list[int]] = field(default_factory=list)




@torch.no_grad()
def rollout(model: torch.nn.Module, plan: MemoryPlan, trajectory: Trajectory, config: RolloutConfig,
            chunks: int | None = None) -> Rollout:
    """Generate the frames of ``trajectory`` after its given ones (or the first ``chunks``
    chunks of them); the first chunk is anchored on the last given frame."""
    model.eval()
    device = next(model.parameters()).device
    poses = trajectory.poses.float()
    total = poses.shape[0]
    per_chunk = plan.backbone.segment_frames - 1
    history = [trajectory.first.to(device).float()]  # latents (C, h, w) of frames 0..
    if trajectory.observed is not None:
        history.extend(trajectory.observed.to(device).float())
    out = Rollout(latents=torch.empty(0), chunks=[])
    state: MemoryState | None = None
    written = 0  # frames of history already folded into a carried state
    schedule = sampling_schedule(config.steps, config.shift).to(device)
    text = trajectory.text[None].to(device)  # (1, L, D)
    chunk = 0
    while len(history) < total and (chunks is None or chunk < chunks):
        t0 = time.perf_counter()
        anchor_at = len(history) - 1
        idx = list(range(anchor_at, min(anchor_at + 1 + per_chunk, total)))
        actions = relative_actions(poses[idx]).to(device)[None]  # (1, F', 12)
        picked: list[int] = []
        if model.storage is not None:
            picked = chunk_frames(plan, trajectory, anchor_at, written)
            state = memory_for_chunk(model, plan, history, poses, picked, anchor_at, state, device)
            written = anchor_at
        gen = torch.Generator().manual_seed(stable_seed(config.seed, "rollout", chunk))
        shape = (1, len(idx) - 1, *history[0].shape)
        x = torch.randn(shape, generator=gen).to(device) * config.noise_shift  # (1, F'-1, C, h, w)
        anchor = history[anchor_at][None, None]  # (1, 1, C, h, w)
        for i in range(config.steps):
            t, t_next = schedule[i], schedule[i + 1]
            frames = torch.cat([anchor, x], dim=1)  # (1, F', C, h, w)
            ts = frame_timesteps(t.reshape(1), len(idx))  # (1, F'): the anchor clean, as in training
            v = model(frames, ts, actions, text, state)  # (1, F', C, h, w)
            x = x + (t_next - t) * v[:, 1:].float()
        history.extend(x[0])
        out.chunks.append((idx[1], idx[-1] + 1))
        out.chunk_seconds.append(time.perf_counter() - t0)
        out.memory_bytes.append(state.nbytes if state is not None else 0)
        out.memory_indices.append(picked)
        chunk += 1
    out.latents = torch.stack(history).cpu()
    return out


def chunk_frames(plan: MemoryPlan, trajectory: Trajectory, anchor_at: int, written: int) -> list[int]:
    """The history frames the chunk anchored at ``anchor_at`` writes into memory: the frames
    the trainer's sampler gives a segment anchored there (the same call over the poses before
    the anchor), or, for a carried state, the frames new since the last chunk (``written``
    on, anchor excluded, as in training)."""
    storage = plan.storage
    if family_of(storage.kind).carries(storage):
        return list(range(written, anchor_at))
    poses = trajectory.poses.float()
    targets = poses[anchor_at + 1: anchor_at + 1 + plan.backbone.segment_frames - 1]
    return storage_history(storage, poses[:anchor_at], targets, trajectory.intrinsics, trajectory.height,
                           trajectory.width)


def storage_history(storage, history: torch.Tensor, targets: torch.Tensor, intrinsics: torch.Tensor,
                    height: int, width: int) -> list[int]:
    """Positions into ``history`` (C, 4, 4) that ``storage`` (a plan's storage config) writes
    while generating ``targets`` (T, 4, 4): the trainer's sampler call, with its arguments."""
    return histories.pick_history(storage.select, storage.memory_frames, history, targets, intrinsics, height, width,
                                  samples=storage.samples, recency=storage.recency, key=storage.key,
                                  overlap=storage.overlap, depth_range=(retriever.NEAR_M, storage.far),
                                  chronological=storage.chronological)


def memory_for_chunk(model, plan: MemoryPlan, history, poses: torch.Tensor, picked: list[int], anchor_at: int,
                     state: MemoryState | None, device) -> MemoryState | None:
    """The memory the chunk anchored at ``anchor_at`` reads once it has written the frames
    ``picked`` (positions into ``history``): a carried state folds them into ``state``,
    any other memory is written anew. The rollout and evaluation both go through here."""
    if model.storage is None:
        return None
    reference = poses[anchor_at]
    if family_of(plan.storage.kind).carries(plan.storage):
        if not picked:
            return state
        return model.write_memory(memory_input(history, poses, picked, len(picked), reference, device), state)
    return model.write_memory(memory_input(history, poses, picked, plan.memory_frames, reference, device))


def memory_input(history, poses, picked: list[int], slots: int, reference, device) -> MemoryInput:
    """The frames ``picked`` (positions into ``history``, a list or tensor of (C, h, w)
    latents) as a batch of one with ``slots`` slots, actions relative to ``reference``;
    unused slots are zero and masked."""
    slots = max(slots, 1)
    latents = torch.zeros(1, slots, *history[0].shape, device=device)  # (1, M, C, h, w)
    actions = torch.zeros(1, slots, 12, device=device)
    mask = torch.zeros(1, slots, dtype=torch.bool, device=device)
    if picked:
        latents[0, :len(picked)] = torch.stack([history[i] for i in picked])
        actions[0, :len(picked)] = relative_actions(poses[picked], reference=reference).to(device)
        mask[0, :len(picked)] = True
    return MemoryInput(latents, actions, mask)
