"""Does a model read its memory? Diagnostics on fixed held-out return segments.

A return segment is the moment of return in a leave-and-return probe from the world's
held-out ``in`` scenes: the camera has looked at an object, turned away, and turns back.
The targets are the frames from the first one where the object is in view again, the
anchor the frame before them (it does not show the object), and the memory is what the
profile's retriever picks from the frames before the anchor — exactly what training and
rollout hand the model. Each segment is scored teacher-forced (true
frames noised at fixed timesteps with fixed noise), so the numbers isolate the read-out
from rollout drift and are comparable across profiles, seeds and training steps.

* ``loss_with`` / ``loss_without``: target-frame flow-matching loss with the memory, and
  with it removed (the model run without memory, as an I2V model). ``gain`` =
  without − with: positive when the memory helps; exactly 0 for a profile with no memory.
* ``attn_memory``: the share of the targets' attention on memory tokens (joint read-out
  with one shared softmax), next to ``attn_memory_chance``, the share of valid memory keys.
* ``attn_overlap_x``: attention per token on memory frames that overlap the targets (≥ 50 %
  of their field of view) relative to the average memory token (1.0 = no preference).
* ``gate_abs``: mean |value| of the read-out's zero-initialised gates or output
  projections (0 at initialisation; ``None`` where the read-out has none).
* ``necessity``: how much of the targets' field of view the anchor lacks but the memory
  holds (points sampled in the target frusta; occlusion ignored) — what memory could add.

Letters: P probes, F segment frames, M memory frames, C channels, h/w latent grid.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import torch

from echodsl.compiler import MemoryPlan
from echodsl.data import retriever
from echodsl.data.camera import relative_actions
from echodsl.data.seeding import stable_seed
from echodsl.data.text import TextConfig, embed_caption
from echodsl.lang.settings import ReadoutJoint
from echodsl.memory.base import MemoryInput
from echodsl.runtime import assemble
from echodsl.runtime.flow import frame_timesteps, interpolate, noise_like
from echodsl.runtime.rollout import memory_input, storage_history

TIMESTEPS = (0.25, 0.5, 0.75)  # noise levels every segment is scored at
OVERLAP = 0.5  # a memory frame "overlaps" the targets when it sees this share of their frusta
NECESSITY_SAMPLES = 256
# The read-outs' zero-initialised parameters: the joint gate, cross-attention output
# projections, residual projections.
ZERO_INIT = re.compile(r"gate|layers\.\d+\.to_out\.weight|proj\.\d+\.weight")


@dataclass(frozen=True)
class MemoryUse:
    """Diagnostics of one model on the fixed return segments (see the module docstring)."""

    cases: int
    loss_with: float
    loss_without: float
    gain: float
    attn_memory: float | None
    attn_memory_chance: float | None
    attn_overlap_x: float | None
    gate_abs: float | None
    necessity: float

    def to_dict(self) -> dict:
        return asdict(self)

    def short(self) -> str:
        """For a progress line: the gain and, where measured, the attention share."""
        text = f"{self.gain:+.4f}"
        if self.attn_memory is not None and self.attn_memory_chance:
            text += f" attn {self.attn_memory / self.attn_memory_chance:.1f}x"
        return text


@dataclass
class Segment:
    latents: torch.Tensor  # (F, C, h, w)
    actions: torch.Tensor  # (F, 12)
    text: torch.Tensor  # (L, D_text)
    memory: MemoryInput  # batch of one
    overlapping: torch.Tensor  # (M,) bool: memory frames overlapping the targets
    necessity: float


def return_segments(run: assemble.RunConfig, plan: MemoryPlan, cases: int) -> list[Segment]:
    """The fixed held-out return segments of ``run`` (the same for every profile but for
    the memory each profile's retriever picks)."""
    world = assemble.world_of(run)
    cache = assemble.codec_cache(run)
    bb = plan.backbone
    text_cfg = TextConfig.of(bb)
    f, slots = bb.segment_frames, max(plan.memory_frames, 1)  # slots: as memory_input pads
    out = []
    for probe in world.probes("in", cases):
        # The moment of return: the targets start at the first frame where the object is back
        # in view, the anchor is the frame before (it does not show the object), and the
        # memory holds what the camera saw before it turned away.
        start = min(probe.revisit[0] - 1, len(probe.poses) - f)  # anchor index
        poses, k = probe.poses, probe.intrinsics
        h, w = world.config.height, world.config.width
        history = poses[:start]  # (C, 4, 4): everything before the anchor
        picked = storage_history(plan.storage, history, poses[start + 1:], k, h, w)
        latents = cache.encode(probe.frames)  # (T, C, h, w)
        memory = memory_input(latents, poses, picked, plan.memory_frames, poses[start], "cpu")
        overlap = retriever.fov_overlap(poses[start + 1:], poses[picked], k, h, w) if picked else torch.zeros(0)
        overlapping = torch.zeros(slots, dtype=torch.bool)
        overlapping[:len(picked)] = overlap >= OVERLAP
        out.append(Segment(latents[start:], relative_actions(poses[start:]), embed_caption(probe.caption, text_cfg),
                           memory, overlapping,
                           _necessity(poses[start + 1:], poses[start:start + 1], poses[picked], k, h, w)))
    return out


def _necessity(targets, anchor, memory, k, h, w) -> float:
    gen = torch.Generator().manual_seed(stable_seed(0, "necessity"))
    pts = retriever.frustum_points(targets, k, h, w, NECESSITY_SAMPLES, (0.3, 6.0), gen)  # (N, 3)
    new = ~retriever.sees(pts, anchor, k, h, w)[0]  # (N,) not in the anchor's view
    held = retriever.sees(pts, memory, k, h, w).any(0) if memory.shape[0] else torch.zeros_like(new)
    return float((new & held).double().mean())


@torch.no_grad()
def measure(model: torch.nn.Module, segments: list[Segment], seed: int = 0) -> MemoryUse:
    """Score ``model`` on ``segments`` (eval mode, restored afterwards)."""
    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    readout = getattr(model, "readout", None)
    records = [] if hasattr(readout, "record") else None
    with_loss, without_loss, attn, chance, overlap_x = [], [], [], [], []
    try:
        for i, seg in enumerate(segments):
            x0 = seg.latents[None].to(device)  # (1, F, C, h, w)
            actions, text = seg.actions[None].to(device), seg.text[None].to(device)
            memory_in = MemoryInput(*(t.to(device) for t in (seg.memory.latents, seg.memory.actions, seg.memory.mask)))
            has_memory = model.storage is not None and bool(seg.memory.mask.any())
            for j, t_value in enumerate(TIMESTEPS):
                gen = torch.Generator().manual_seed(stable_seed(seed, "memory-use", i, j))
                noise = noise_like(x0, 1.0, gen)
                t = torch.full((1,), t_value, device=device)
                noisy = torch.cat([x0[:, :1], interpolate(x0, noise, t)[:, 1:]], dim=1)
                timesteps = frame_timesteps(t, x0.shape[1])
                target = (noise - x0)[:, 1:]

                def loss(memory) -> float:
                    v = model(noisy, timesteps, actions, text, memory)
                    return float(((v[:, 1:].float() - target.float()) ** 2).mean())

                base = loss(None)
                without_loss.append(base)
                if not has_memory:
                    with_loss.append(base)
                    continue
                if records is not None:
                    readout.record = records
                    records.clear()
                with_loss.append(loss(model.write_memory(memory_in)))
                if records:
                    _attention(records, seg, model.plan, attn, chance, overlap_x)
    finally:
        if records is not None:
            readout.record = None
        model.train(was_training)
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    lw, lo = mean(with_loss), mean(without_loss)
    return MemoryUse(len(segments), lw, lo, lo - lw, mean(attn), mean(chance), mean(overlap_x),
                     gate_abs(model), mean([s.necessity for s in segments]) or 0.0)


def _attention(records, seg: Segment, plan: MemoryPlan, attn, chance, overlap_x) -> None:
    per_token = torch.stack(records).mean(0)[0]  # (S,) over blocks, batch of one
    mask = seg.memory.mask[0]  # (M,)
    n = plan.tokens_per_frame
    slots = per_token.shape[0] // n
    frames = per_token.view(slots, n)  # (T, n): stored slots (compression may pool frames)
    valid = mask[:slots] if slots == mask.shape[0] else mask.view(slots, -1).any(1)
    total = float(frames[valid].sum())
    if isinstance(plan.readout.settings, ReadoutJoint) and plan.readout.settings.gate == "none":
        keys = valid.sum() * n + plan.tokens_per_frame * plan.backbone.segment_frames
        attn.append(total)
        chance.append(float(valid.sum() * n / keys))
    if slots == mask.shape[0]:  # frame-level overlap is defined only for uncompressed slots
        over = seg.overlapping[:slots] & valid
        if over.any() and total > 0 and int(valid.sum()) > int(over.sum()):
            share = float(frames[over].sum()) / total
            overlap_x.append(share / (int(over.sum()) / int(valid.sum())))


def gate_abs(model: torch.nn.Module) -> float | None:
    """Mean |value| of the read-out's zero-initialised gates / output projections."""
    readout = getattr(model, "readout", None)
    if readout is None:
        return None
    values = [p.detach().abs().mean() for name, p in readout.named_parameters() if ZERO_INIT.fullmatch(name)]
    if not values:
        return None
    value = float(torch.stack(values).mean())
    return value if math.isfinite(value) else None
