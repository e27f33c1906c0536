"""Pretrained backbone weights: a local diffusers folder or the release's single file.

``wan(preset = wan2_1_1_3b, weights = "path")`` points at either

- a diffusers transformer folder (``config.json`` + ``diffusion_pytorch_model*.safetensors``,
  sharded or not), whose keys are diffusers' own; or
- the original Wan2.1 release's ``diffusion_pytorch_model.safetensors`` (keys such as
  ``blocks.0.self_attn.q.weight``), renamed with diffusers' own Wan key map.

Both are read locally, never downloaded. The tensors load into ``WanBackbone.dit``; every
tensor must match the preset's shape, and the first one that does not is the error (a
1.3B checkpoint under a 14B preset fails on its first block, not deep inside torch).
The file's sha256 is part of the study's setup, so two runs from different weights never
compare as one setup.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from echodsl.errors import DataError

# The release's single file and diffusers' folder share this file name; the folder is told
# apart by its config.json (and its sharded index).
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"


@dataclass(frozen=True)
class LoadReport:
    """What a weights file gave the model: where from, its format and the keys left over."""

    path: Path
    format: str  # "diffusers" | "original"
    sha256: str
    missing: tuple[str, ...]  # model tensors the file lacked (kept at their init)
    unexpected: tuple[str, ...]  # file tensors the model has no place for (ignored)

    def to_json(self) -> dict:
        return {"path": str(self.path), "format": self.format, "sha256": self.sha256,
                "missing": list(self.missing), "unexpected": list(self.unexpected)}


def weight_files(path: Path) -> list[Path]:
    """The safetensors files ``path`` names: one file, or a diffusers folder's shards."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"weights not found: {path} (weights are read locally, never downloaded)")
    index = path / INDEX_NAME
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [path / s for s in shards]
    single = path / WEIGHTS_NAME
    if single.is_file():
        return [single]
    found = sorted(path.glob("*.safetensors"))
    if not found:
        raise DataError(f"{path} holds no .safetensors weights; give a diffusers transformer folder "
                         f"or the release's {WEIGHTS_NAME}")
    return found


def weights_sha256(path: str | Path) -> str:
    """sha256 over the weight files' bytes, in order (one file: that file's sha256).

    Memoised on the files' (path, size, mtime): a study plans many runs from one multi-GB file.
    """
    files = weight_files(Path(path))
    return _sha256_of(tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@functools.lru_cache(maxsize=16)
def _sha256_of(files: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, _, _ in files:
        with open(name, "rb") as stream:
            while block := stream.read(1 << 22):
                h.update(block)
    return h.hexdigest()


def read_state_dict(path: Path) -> tuple[dict, str]:
    """All tensors of ``path`` in diffusers' key layout, and the format they came in."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    state = {}
    for f in weight_files(path):
        try:
            state.update(load_file(str(f)))
        except (SafetensorError, OSError) as exc:
            raise DataError(f"backbone weights {f} cannot be read ({exc})") from None
    if _is_original(state):
        from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

        return convert_wan_transformer_to_diffusers(dict(state)), "original"
    return state, "diffusers"


def _is_original(state: dict) -> bool:
    """The release names attention ``self_attn.q``; diffusers names it ``attn1.to_q``."""
    return any(".self_attn." in k or k.startswith("model.diffusion_model.") for k in state)


def load_weights(dit, path: str | Path) -> LoadReport:
    """Copy the weights at ``path`` into ``dit`` (a diffusers ``WanTransformer3DModel``).

    A tensor whose shape differs from the model's is a ``DataError`` naming it (exit 1); tensors
    present on one side only are reported in the returned ``LoadReport``.
    """
    path = Path(path)
    state, fmt = read_state_dict(path)
    own = dit.state_dict()
    for key in own:  # in the model's order: the first mismatch is the earliest layer
        value = state.get(key)
        if value is not None and tuple(own[key].shape) != tuple(value.shape):
            raise DataError(f"backbone weights {path} do not fit this preset: {key} is "
                             f"{tuple(value.shape)} in the file, {tuple(own[key].shape)} in the model "
                             "(check wan(preset = ...) or wan(config = ...) against the checkpoint)")
    missing, unexpected = dit.load_state_dict(state, strict=False)
    if not set(own) - set(missing):
        raise DataError(f"backbone weights {path} share no tensor with the Wan transformer "
                         f"(first key: {next(iter(state), 'none')})")
    return LoadReport(path, fmt, weights_sha256(path), tuple(missing), tuple(unexpected))


def describe(report: LoadReport) -> str:
    """One line for the run log: what loaded, and what did not."""
    line = f"backbone weights: {report.path} ({report.format}, sha256 {report.sha256[:12]})"
    if report.missing:
        line += f"; {len(report.missing)} missing (kept at init): {', '.join(report.missing[:5])}"
    if report.unexpected:
        line += f"; {len(report.unexpected)} unexpected (ignored): {', '.join(report.unexpected[:5])}"
    return line


__all__ = ["LoadReport", "describe", "load_weights", "weight_files", "weights_sha256"]
