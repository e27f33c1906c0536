"""Caption embeddings for the DiT's text stream.

With ``TextConfig.encoder`` set (``wan(text_encoder = "path")``), captions go through that
local umT5 encoder, cached on disk (``echodsl.backbone.text_encoder``). Without one (the
offline default, and the tiny presets'), captions are embedded deterministically: each lower-cased word maps to a fixed random
unit-scale vector seeded by the SHA-256 of the word, plus a sinusoidal position code.
The same caption always gives the same (L, D) tensor on every machine; different captions
(e.g. scenes with other objects) give different tensors. It carries identity, not meaning.

Letters: L tokens, D embedding width.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TextConfig:
    """Shape of caption embeddings: ``max_tokens`` rows of width ``dim`` (the backbone's
    text width); longer captions are truncated, shorter ones zero-padded."""

    dim: int = 64
    max_tokens: int = 16
    encoder: str | None = None  # a local umT5 folder; None: the hashed word embedding below
    cache_dir: str | None = None  # where encoder embeddings are cached (None: the user cache)

    @classmethod
    def of(cls, backbone) -> "TextConfig":
        """The text stream a ``BackboneConfig`` expects (its width, length and encoder)."""
        return cls(dim=backbone.text_dim, max_tokens=backbone.text_len, encoder=backbone.text_encoder)


def _word_vector(word: str, dim: int) -> torch.Tensor:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big") >> 1
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed)) / math.sqrt(dim)


def embed_caption(caption: str, config: TextConfig) -> torch.Tensor:
    """Caption embedding (L, D) float32; all-zero rows are padding."""
    if config.encoder:
        from echodsl.backbone.text_encoder import caption_encoder

        return caption_encoder(config.encoder, config.max_tokens, config.dim, config.cache_dir)(caption)
    words = re.findall(r"[a-z0-9]+", caption.lower())[: config.max_tokens]
    out = torch.zeros(config.max_tokens, config.dim)
    if not words:
        return out
    pos = torch.arange(len(words), dtype=torch.float32)[:, None]  # (L, 1)
    freq = torch.exp(-math.log(1e4) * torch.arange(0, config.dim, 2) / config.dim)  # (D/2,)
    code = torch.zeros(len(words), config.dim)
    code[:, 0::2] = torch.sin(pos * freq)[:, : (config.dim + 1) // 2]
    code[:, 1::2] = torch.cos(pos * freq)[:, : config.dim // 2]
    vectors = torch.stack([_word_vector(w, config.dim) for w in words])  # (L, D)
    out[: len(words)] = vectors + 0.1 * code / math.sqrt(config.dim)
    return out
