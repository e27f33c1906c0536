"""``build``: a ``MemoryPlan`` and a backbone → one ``nn.Module``, and ``torch.compile`` of it.

``MemoryWorldModel`` is the DiT plus the profile's action conditioning and memory, and
nothing else: every profile of a study shares the backbone code path, weights layout and
training recipe. Its forward threads the target tokens block by block through the
backbone, letting the read-out touch each block; with no memory (or an untrained one)
the result is the I2V model's, bit for bit.

Letters: B batch, F frames, C latent channels, h/w latent grid, L text tokens, N tokens.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from echodsl.backbone.action import ActionConditioner, ActionConfig
from echodsl.backbone.wan import Stream, WanBackbone
from echodsl.compiler.plan import MemoryPlan
from echodsl.errors import BuildError
from echodsl.families import build_memory
from echodsl.memory.base import MemoryInput, MemoryState
from echodsl.memory.readouts.base import Readout


def make_memory(plan: MemoryPlan) -> tuple[nn.Module | None, Readout | None]:
    """The storage and read-out modules a plan asks for (either may be None): its family's builders."""
    return build_memory(plan.storage, plan.readout, plan.backbone, plan.action_inject)


class MemoryWorldModel(nn.Module):
    """The shared Wan DiT + one profile's action conditioning and memory."""

    def __init__(self, plan: MemoryPlan, backbone: WanBackbone):
        super().__init__()
        self.plan = plan
        self.backbone = backbone
        self.action = None
        if plan.action == "relative_rt":
            bb = backbone.config
            self.action = ActionConditioner(ActionConfig(bb.dim, plan.action_inject, bb.grid, bb.fov_deg))
        self.storage, self.readout = make_memory(plan)
        # Recompute each block in the backward pass instead of keeping its activations
        # (the trainer sets it from flow(checkpointing = blocks)); the numbers are unchanged.
        self.checkpoint_blocks = False
        self.init_weights()

    def init_weights(self) -> None:
        """Zero every memory gate/projection and the action projection: an exact no-op start."""
        for m in (self.action, self.storage, self.readout):
            if m is not None:
                m.init_weights()

    def memory_parameters(self) -> list[nn.Parameter]:
        return [p for m in (self.storage, self.readout) if m is not None for p in m.parameters()]

    def write_memory(self, memory: MemoryInput, state: MemoryState | None = None) -> MemoryState:
        """Store what the profile stores; with ``state`` only the new frames are consumed."""
        if self.storage is None:
            return MemoryState(self.plan.storage.kind)
        if self.action is not None and getattr(self.storage, "takes_camera", False):
            b, m = memory.mask.shape
            camera = self.action(memory.actions).view(b, m, -1, self.backbone.config.dim)  # (B, M, n, D)
            memory = replace(memory, camera=camera)
        return self.storage.write(self.backbone, memory, state)

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor, actions: torch.Tensor, text: torch.Tensor,
                memory: MemoryState | None = None) -> torch.Tensor:
        """latents (B, F, C, h, w) with frame 0 clean; timesteps (B, F), 0 = clean; actions
        (B, F, 12); text (B, L, D_text) → velocity (B, F, C, h, w)."""
        bb, frames = self.backbone, latents.shape[1]
        e = bb.embed(latents, timesteps, text)
        pre = post = None
        if self.action is not None:
            a = self.action(actions)  # (B, N, D)
            pre, post = (a, None) if self.plan.action_inject == "pre_norm" else (None, a)
        carry = None
        if memory is not None and self.readout is not None:
            if getattr(self.storage, "mixture", None) is not None:
                b = latents.shape[0]
                query = bb.patchify(latents[:, 1:]).view(b, -1, bb.config.dim).mean(dim=1)  # (B, D): targets' mean token
                tokens = self.storage.read(memory, query)
            else:
                tokens = self.storage.read(memory)
            carry = self.readout.prepare(bb, tokens, frames)
        x = e.x
        recompute = self.checkpoint_blocks and torch.is_grad_enabled()
        for i in range(len(bb.blocks)):
            if recompute:  # non-reentrant: any carry structure, and gradients reach closed-over tensors
                x, carry = checkpoint(self._block, i, x, carry, e, pre, post, use_reentrant=False)
            else:
                x, carry = self._block(i, x, carry, e, pre, post)
        return bb.head(x, e.temb, frames)

    def _block(self, i: int, x: torch.Tensor, carry, e, pre, post):
        """Block ``i`` on the target tokens (B, N, D), through the read-out when memory is read."""
        target = Stream(x, e.mod, e.rotary, pre, post)
        if carry is None:
            (x,) = self.backbone.run_block(i, [target], e.context)
            return x, None
        return self.readout.block(self.backbone, i, target, e.context, carry)


def build(plan: MemoryPlan, backbone: WanBackbone, *, copy_backbone: bool = False) -> MemoryWorldModel:
    """Attach ``plan``'s memory to ``backbone`` (shared unless ``copy_backbone``)."""
    if backbone.config.grid != plan.backbone.grid or backbone.config.dim != plan.backbone.dim:
        raise BuildError(f"plan for preset {plan.backbone.preset} does not fit backbone {backbone.config.preset}")
    return MemoryWorldModel(plan, copy.deepcopy(backbone) if copy_backbone else backbone)


def compile_model(model: MemoryWorldModel, **options) -> MemoryWorldModel:
    """``torch.compile`` in place: forward and write_memory; state-dict keys stay unprefixed
    (``nn.Module.compile`` wraps the call, not the module, so no ``_orig_mod.`` appears)."""
    model.compile(**options)
    model.write_memory = torch.compile(model.write_memory, **options)
    return model
