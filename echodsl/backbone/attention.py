"""Attention primitives shared by the backbone and the memory read-outs.

The self- and cross-attention of diffusers' ``WanAttention`` are reproduced op for op
(projections, RMS q/k norms, interleaved rotary, SDPA in (B, H, N, d) layout), so the
backbone run through these functions is bit-identical to diffusers' own forward on the
SDPA path (tested), while the memory read-outs can reuse one block's q/k/v.

Letters: B batch, N query tokens, S key tokens, H heads, d head width, D model width.
"""

from __future__ import annotations

import importlib.util

import torch
import torch.nn.functional as F

Rotary = tuple[torch.Tensor, torch.Tensor]  # (cos, sin), each (1, N, 1, d)


def attention_backend(device: torch.device | str = "cpu") -> str:
    """``flash_attn`` when the package is importable and the model runs on CUDA, else ``sdpa``."""
    if torch.device(device).type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attn"
    return "sdpa"


def apply_rotary(x: torch.Tensor, rotary: Rotary) -> torch.Tensor:
    """Wan's interleaved rotary embedding; x (B, N, H, d)."""
    cos, sin = rotary
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)  # (B, N, H, d/2) each
    cos, sin = cos[..., 0::2], sin[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out.type_as(x)


def project_q(attn, h: torch.Tensor, rotary: Rotary | None) -> torch.Tensor:
    q = attn.norm_q(attn.to_q(h)).unflatten(2, (attn.heads, -1))  # (B, N, H, d)
    return q if rotary is None else apply_rotary(q, rotary)


def project_kv(attn, h: torch.Tensor, rotary: Rotary | None) -> tuple[torch.Tensor, torch.Tensor]:
    k = attn.norm_k(attn.to_k(h)).unflatten(2, (attn.heads, -1))  # (B, S, H, d)
    v = attn.to_v(h).unflatten(2, (attn.heads, -1))  # (B, S, H, d)
    return (k if rotary is None else apply_rotary(k, rotary)), v


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
           backend: str = "sdpa") -> torch.Tensor:
    """Softmax attention in (B, N, H, d) layout; ``mask`` (B, S) bool marks keys to keep.

    Returns (B, N, H*d). flash-attn takes no mask: masked calls always use SDPA.
    """
    if backend == "flash_attn" and mask is None:
        from flash_attn import flash_attn_func  # optional extra; only on CUDA

        out = flash_attn_func(q, k, v)  # (B, N, H, d)
    else:
        attn_mask = None if mask is None else mask[:, None, None, :]  # (B, 1, 1, S)
        out = F.scaled_dot_product_attention(
            q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3), attn_mask=attn_mask
        ).permute(0, 2, 1, 3)  # (B, N, H, d)
    return out.flatten(2, 3).type_as(q)  # (B, N, H*d)


def output(attn, o: torch.Tensor) -> torch.Tensor:
    return attn.to_out[1](attn.to_out[0](o))  # (B, N, D)


def self_attention(attn, h: torch.Tensor, rotary: Rotary, backend: str = "sdpa") -> torch.Tensor:
    """One token stream attending to itself, as ``WanAttnProcessor`` does."""
    q = project_q(attn, h, rotary)
    k, v = project_kv(attn, h, rotary)
    return output(attn, attend(q, k, v, backend=backend))


def cross_attention(attn, h: torch.Tensor, context: torch.Tensor, backend: str = "sdpa") -> torch.Tensor:
    """Tokens attending to the text context, as ``WanAttnProcessor`` does (no image branch)."""
    q = project_q(attn, h, None)
    k, v = project_kv(attn, context, None)
    return output(attn, attend(q, k, v, backend=backend))
