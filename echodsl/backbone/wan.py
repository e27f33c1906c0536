"""The shared video DiT: diffusers' ``WanTransformer3DModel``, run block by block.

``WanBackbone`` owns the diffusers model (its weights and state-dict keys are diffusers'
own, under ``dit.``) and re-states its forward in three steps, ``embed`` → ``run_block``
per block → ``head``, so that a compiler can thread extra token streams and additive
conditioning through the blocks. The backbone knows nothing of memory: a ``Stream`` is
any token sequence with its own modulation and rotary positions, and the one hook into
attention is a replaceable function. With no extras the result equals diffusers' forward
bit for bit (tested).

Letters: B batch, F frames, C latent channels, h/w latent grid, n = tokens per frame,
N = F*n tokens, L text tokens, D model width.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import torch
from diffusers import WanTransformer3DModel
from torch import nn

from echodsl.backbone.attention import Rotary, attention_backend, cross_attention, self_attention
from echodsl.presets import BackboneConfig


class Stream(NamedTuple):
    """One token sequence going through a block.

    ``mod`` is its per-token timestep modulation (B, N or 1, 6, D); ``pre`` is added to the
    tokens before the block's first norm and ``post_attn`` after the self-attention
    residual (the two action-injection sites); ``cross`` replaces the text cross-attention.
    """

    x: torch.Tensor  # (B, N, D)
    mod: torch.Tensor
    rotary: Rotary
    pre: torch.Tensor | None = None
    post_attn: torch.Tensor | None = None
    cross: Callable | None = None


# (attn1, normed streams, rotaries) -> one attention output per stream
SelfAttention = Callable[[nn.Module, list[torch.Tensor], list[Rotary]], list[torch.Tensor]]


class Embedded(NamedTuple):
    x: torch.Tensor  # (B, N, D) patch tokens
    temb: torch.Tensor  # (B, N, D)
    mod: torch.Tensor  # (B, N, 6, D)
    context: torch.Tensor  # (B, L, D) projected text
    rotary: Rotary


class WanBackbone(nn.Module):
    """diffusers' Wan DiT with a block-level forward; latents in (B, F, C, h, w) layout."""

    def __init__(self, config: BackboneConfig, backend: str | None = None):
        super().__init__()
        self.config = config
        self.dit = WanTransformer3DModel(**config.dit_kwargs())
        # Chosen once at construction; ``to(cuda)`` callers re-choose with ``set_backend``.
        self.backend = backend or attention_backend("cpu")

    def set_backend(self, backend: str | None = None) -> str:
        """Pick flash-attn or SDPA for the device the weights live on; returns the choice."""
        self.backend = backend or attention_backend(self.dit.proj_out.weight.device)
        return self.backend

    @property
    def blocks(self) -> nn.ModuleList:
        return self.dit.blocks

    def patchify(self, latents: torch.Tensor) -> torch.Tensor:
        """Patch embedding of frames: (B, F, C, h, w) → (B, F*n, D), frame-major."""
        x = self.dit.patch_embedding(latents.transpose(1, 2))  # (B, D, F, hp, wp)
        return x.flatten(2).transpose(1, 2).contiguous()  # (B, F*n, D)

    def rotary(self, frames: int) -> Rotary:
        """Wan's 3-D rotary embedding for ``frames`` frames at positions 0..frames-1."""
        c, (h, w) = self.config.latent_channels, self.config.latent_hw
        probe = torch.empty(1, c, frames, h, w, device=self.dit.rope.freqs_cos.device)
        return self.dit.rope(probe)  # (1, F*n, 1, d) each

    def rotary_at(self, positions: Sequence[int]) -> Rotary:
        """Rotary for whole frames at arbitrary (possibly negative) temporal positions.

        Negative positions use cos(-x) = cos(x), sin(-x) = -sin(x) on Wan's own table.
        """
        rope, (hp, wp) = self.dit.rope, self.config.grid
        cos_t, cos_h, cos_w = rope.freqs_cos.split([rope.t_dim, rope.h_dim, rope.w_dim], dim=1)
        sin_t, sin_h, sin_w = rope.freqs_sin.split([rope.t_dim, rope.h_dim, rope.w_dim], dim=1)
        index = torch.tensor([abs(p) for p in positions], device=cos_t.device)
        sign = torch.tensor([-1.0 if p < 0 else 1.0 for p in positions], device=cos_t.device, dtype=sin_t.dtype)
        t = len(positions)

        def grid(ft, fh, fw):
            return torch.cat([
                ft.view(t, 1, 1, -1).expand(t, hp, wp, -1),
                fh[:hp].view(1, hp, 1, -1).expand(t, hp, wp, -1),
                fw[:wp].view(1, 1, wp, -1).expand(t, hp, wp, -1),
            ], dim=-1).reshape(1, t * hp * wp, 1, -1)  # (1, T*n, 1, d)

        return grid(cos_t[index], cos_h, cos_w), grid(sin_t[index] * sign[:, None], sin_h, sin_w)

    def modulation(self, timesteps: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token timestep embedding, as Wan's condition embedder computes it.

        timesteps (B, N) → temb (B, N, D), mod (B, N, 6, D).
        """
        emb = self.dit.condition_embedder
        t = emb.timesteps_proj(timesteps.flatten()).unflatten(0, timesteps.shape)  # (B, N, freq)
        t = t.to(next(iter(emb.time_embedder.parameters())).dtype)
        temb = emb.time_embedder(t).type_as(like)  # (B, N, D)
        mod = emb.time_proj(emb.act_fn(temb)).unflatten(2, (6, -1))  # (B, N, 6, D)
        return temb, mod

    def embed(self, latents: torch.Tensor, timesteps: torch.Tensor, text: torch.Tensor) -> Embedded:
        """latents (B, F, C, h, w), per-frame timesteps (B, F), text (B, L, D_text)."""
        b, f = latents.shape[:2]
        n = self.config.tokens_per_frame
        x = self.patchify(latents)  # (B, N, D)
        per_token = timesteps[:, :, None].expand(b, f, n).reshape(b, f * n)  # (B, N)
        temb, mod = self.modulation(per_token, x)
        context = self.dit.condition_embedder.text_embedder(text)  # (B, L, D)
        return Embedded(x, temb, mod, context, self.rotary(f))

    def run_block(self, index: int, streams: Sequence[Stream], context: torch.Tensor,
                  attention: SelfAttention | None = None) -> list[torch.Tensor]:
        """One ``WanTransformerBlock`` over one or more token streams.

        Every per-token op runs on each stream separately (so adding a stream never
        perturbs another bit for bit); only ``attention`` sees all streams at once. The
        default attends each stream to itself.
        """
        block = self.dit.blocks[index]
        xs, hs, gates = [], [], []
        for s in streams:
            x = s.x if s.pre is None else s.x + s.pre
            shift, scale, gate, c_shift, c_scale, c_gate = (
                block.scale_shift_table.unsqueeze(0) + s.mod.float()
            ).chunk(6, dim=2)  # each (B, N, 1, D)
            hs.append((block.norm1(x.float()) * (1 + scale.squeeze(2)) + shift.squeeze(2)).type_as(x))
            xs.append(x)
            gates.append((gate.squeeze(2), c_shift.squeeze(2), c_scale.squeeze(2), c_gate.squeeze(2)))
        if attention is None:
            outs = [self_attention(block.attn1, h, s.rotary, self.backend) for h, s in zip(hs, streams)]
        else:
            outs = attention(block.attn1, hs, [s.rotary for s in streams])
        result = []
        for s, x, out, (gate, c_shift, c_scale, c_gate) in zip(streams, xs, outs, gates):
            x = (x.float() + out * gate).type_as(x)
            if s.post_attn is not None:
                x = x + s.post_attn
            h = block.norm2(x.float()).type_as(x)
            cross = cross_attention(block.attn2, h, context, self.backend) if s.cross is None else s.cross(block.attn2, h, context)
            x = x + cross
            h = (block.norm3(x.float()) * (1 + c_scale) + c_shift).type_as(x)
            x = (x.float() + block.ffn(h).float() * c_gate).type_as(x)  # (B, N, D)
            result.append(x)
        return result

    def head(self, x: torch.Tensor, temb: torch.Tensor, frames: int) -> torch.Tensor:
        """Output norm, projection and unpatchify: (B, N, D) → velocity (B, F, C, h, w)."""
        shift, scale = (self.dit.scale_shift_table.unsqueeze(0) + temb.unsqueeze(2)).chunk(2, dim=2)
        x = (self.dit.norm_out(x.float()) * (1 + scale.squeeze(2)) + shift.squeeze(2)).type_as(x)
        x = self.dit.proj_out(x)  # (B, N, C*pt*ph*pw)
        pt, ph, pw = self.config.patch_size
        (hp, wp), b = self.config.grid, x.shape[0]
        x = x.reshape(b, frames // pt, hp, wp, pt, ph, pw, -1)  # (B, F', hp, wp, pt, ph, pw, C)
        x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)  # (B, C, F', pt, hp, ph, wp, pw)
        x = x.flatten(6, 7).flatten(4, 5).flatten(2, 3)  # (B, C, F, h, w)
        return x.transpose(1, 2)  # (B, F, C, h, w)

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """The bare DiT: no action, no memory. Returns velocity (B, F, C, h, w)."""
        e = self.embed(latents, timesteps, text)
        x = e.x
        for i in range(len(self.blocks)):
            (x,) = self.run_block(i, [Stream(x, e.mod, e.rotary)], e.context)
        return self.head(x, e.temb, latents.shape[1])
