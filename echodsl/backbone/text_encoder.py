"""Real caption conditioning: a local umT5 encoder, as Wan2.1 conditions its DiT.

``wan(text_encoder = "path")`` names a folder with a transformers ``UMT5EncoderModel`` and
its tokenizer (for Wan2.1: the ``text_encoder`` and ``tokenizer`` folders of the diffusers
release, copied into one folder, or a folder with a ``tokenizer/`` subfolder). Captions
are tokenized to ``text_len`` tokens (512 for Wan), encoded, and the rows past the
caption's real length are zeroed, exactly as Wan trims each embedding to its sequence
length and pads it with zeros.

Encoding is done once per (encoder, caption): the (L, D) embedding is stored as a
safetensors file under ``cache_dir/<encoder sha256>/<caption sha256>.safetensors``
(with its own sha256 checked when read), so training and evaluation read files and the
multi-GB encoder is loaded only when a caption has never been seen (``echodsl data
encode`` fills the cache up front). Nothing is downloaded: transformers runs with
``local_files_only``.

Letters: L text tokens, D text width.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

import torch

from echodsl.cache import cache_root
from echodsl.errors import DataError


def default_cache_dir() -> Path:
    """Where caption embeddings live unless the run names a place: ``text`` under the cache
    root (``$ECHODSL_CACHE``, else ``~/.cache/echodsl``)."""
    return cache_root() / "text"


def encoder_files(path: Path) -> list[Path]:
    """Every file of the encoder folder (weights, config and tokenizer), in a fixed order."""
    if not path.is_dir():
        raise DataError(f"text encoder not found: {path} (a local umT5 folder; nothing is downloaded)")
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def encoder_sha256(path: str | Path) -> str:
    """sha256 over the encoder folder: each file's relative name and bytes."""
    path = Path(path)
    files = encoder_files(path)
    return _folder_sha256(str(path.resolve()), tuple((str(f.relative_to(path)), f.stat().st_size,
                                                      f.stat().st_mtime_ns) for f in files))


@functools.lru_cache(maxsize=8)  # keyed by the files' (name, size, mtime): a re-written file re-hashes
def _folder_sha256(root: str, files: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, _, _ in files:
        h.update(name.encode() + b"\0")
        with open(Path(root) / name, "rb") as stream:
            while block := stream.read(1 << 22):
                h.update(block)
    return h.hexdigest()


def clean_caption(caption: str) -> str:
    """Whitespace collapsed, as Wan's tokenizer wrapper cleans prompts."""
    return re.sub(r"\s+", " ", caption).strip()


class CaptionEncoder:
    """umT5 embeddings of captions, (L, D) float32, cached on disk per (encoder, caption)."""

    def __init__(self, path: str | Path, text_len: int, dim: int, cache_dir: str | Path | None = None,
                 device: str | torch.device = "cpu"):
        self.path, self.text_len, self.dim = Path(path), text_len, dim
        self.sha256 = encoder_sha256(self.path)
        self.cache = Path(cache_dir or default_cache_dir()) / self.sha256[:16]
        self.device = torch.device(device)
        self._model = self._tokenizer = None  # loaded on the first caption not in the cache

    def cache_path(self, caption: str) -> Path:
        key = hashlib.sha256(f"{self.text_len}\0{clean_caption(caption)}".encode()).hexdigest()
        return self.cache / key[:2] / f"{key}.safetensors"

    def cached(self, caption: str) -> bool:
        return self.cache_path(caption).is_file()

    def __call__(self, caption: str) -> torch.Tensor:
        """The caption's embedding (L, D): from the cache, else encoded and stored."""
        path = self.cache_path(caption)
        if path.is_file():
            return _read_checked(path)
        embedding = self.encode([caption])[0]
        _write_checked(path, embedding)
        return embedding

    def encode(self, captions: list[str]) -> torch.Tensor:
        """Encode without the cache: (B, L, D) float32, rows past each caption's length zero."""
        self._load()
        tokens = self._tokenizer([clean_caption(c) for c in captions], padding="max_length",
                                 max_length=self.text_len, truncation=True, add_special_tokens=True,
                                 return_attention_mask=True, return_tensors="pt")
        ids, mask = tokens.input_ids.to(self.device), tokens.attention_mask.to(self.device)  # (B, L)
        with torch.no_grad():
            hidden = self._model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, L, D)
        hidden = hidden.float() * mask[..., None].to(hidden.dtype)  # padded positions zeroed, as Wan does
        return hidden.cpu()

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoTokenizer, UMT5EncoderModel  # the `text` extra (the CLI names it when missing)
        folder = self.path / "tokenizer" if (self.path / "tokenizer").is_dir() else self.path
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self._model = UMT5EncoderModel.from_pretrained(self.path, local_files_only=True).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise DataError(f"text encoder {self.path} cannot be loaded ({str(exc).splitlines()[0]})") from None
        width = self._model.config.d_model
        if width != self.dim:
            raise DataError(f"text encoder {self.path} gives {width}-wide embeddings; this backbone "
                            f"expects text_dim {self.dim}")


def _write_checked(path: Path, embedding: torch.Tensor) -> None:
    """Atomic write with the tensor bytes' sha256 in the file's metadata."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensor = embedding.contiguous()
    digest = hashlib.sha256(tensor.numpy().tobytes()).hexdigest()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({"text": tensor}, str(tmp), metadata={"sha256": digest})
    os.replace(tmp, path)


def _read_checked(path: Path) -> torch.Tensor:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as f:
            tensor, digest = f.get_tensor("text"), (f.metadata() or {}).get("sha256")
    except (SafetensorError, OSError) as exc:
        raise DataError(f"cached caption embedding cannot be read ({exc}); delete it to re-encode", str(path)) from None
    if digest != hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest():
        raise DataError("cached caption embedding does not match its sha256; delete it to re-encode", str(path))
    return tensor


@functools.lru_cache(maxsize=2)
def caption_encoder(path: str, text_len: int, dim: int, cache_dir: str | None) -> CaptionEncoder:
    """One encoder per (folder, shape, cache) and process: data loaders call per caption."""
    return CaptionEncoder(path, text_len, dim, cache_dir)
