"""Writes a diffusers Wan transformer in the original Wan2.1 release's key layout.

Written independently of diffusers' converter (from the release's module names), so
loading the file through echodsl tests that converter rather than assuming it.
"""

from __future__ import annotations

import re
from pathlib import Path

from safetensors.torch import save_file

# diffusers name -> release name; applied per key, first match wins.
_RENAMES = [
    (r"^condition_embedder\.time_embedder\.linear_1\.", "time_embedding.0."),
    (r"^condition_embedder\.time_embedder\.linear_2\.", "time_embedding.2."),
    (r"^condition_embedder\.text_embedder\.linear_1\.", "text_embedding.0."),
    (r"^condition_embedder\.text_embedder\.linear_2\.", "text_embedding.2."),
    (r"^condition_embedder\.time_proj\.", "time_projection.1."),
    (r"^scale_shift_table$", "head.modulation"),
    (r"^proj_out\.", "head.head."),
]
_BLOCK = [
    (r"\.attn1\.to_out\.0\.", ".self_attn.o."), (r"\.attn2\.to_out\.0\.", ".cross_attn.o."),
    (r"\.attn1\.to_([qkv])\.", r".self_attn.\1."), (r"\.attn2\.to_([qkv])\.", r".cross_attn.\1."),
    (r"\.attn1\.norm_", ".self_attn.norm_"), (r"\.attn2\.norm_", ".cross_attn.norm_"),
    (r"\.ffn\.net\.0\.proj\.", ".ffn.0."), (r"\.ffn\.net\.2\.", ".ffn.2."),
    (r"\.scale_shift_table$", ".modulation"),
    (r"\.norm2\.", ".norm3."),  # the release's norm3 is the cross-attention norm
]


def release_key(key: str) -> str:
    if key.startswith("blocks."):
        for pattern, repl in _BLOCK:
            new = re.sub(pattern, repl, key)
            if new != key:
                return new
        return key
    for pattern, repl in _RENAMES:
        new = re.sub(pattern, repl, key)
        if new != key:
            return new
    return key


def save_release(dit, path: Path) -> Path:
    """Save ``dit``'s weights as the release's single diffusion_pytorch_model.safetensors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({release_key(k): v.contiguous() for k, v in dit.state_dict().items()}, str(path))
    return path
