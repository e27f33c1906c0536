"""Checkpoints: one safetensors file per save holding model, optimizer and RNG tensors,
with the trainer's small state (step, spike tracker, identity hashes) as JSON metadata.

Written atomically (temp file in the same directory, then rename) so a run killed while
saving never leaves a half-written checkpoint behind; the newest ``keep`` are kept. Each
has a ``.sha256`` beside it; reading checks it, and :func:`set_aside_corrupt` moves away
every checkpoint whose bytes no longer match (that file or the hash the store recorded),
so a resume falls back to the newest intact one.
Keys never carry ``_orig_mod.`` (a compiled model saves like an eager one).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from echodsl.errors import RuntimeFailure

FORMAT = "echodsl-checkpoint-1"
_NAME = re.compile(r"step_(\d{8})\.safetensors$")


@dataclass
class Checkpoint:
    path: Path
    step: int
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]


def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step_{step:08d}.safetensors"


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoints in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NAME.search(p.name))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def recorded_digest(path: Path) -> str | None:
    """The sha256 written beside ``path`` when it was saved (None for older checkpoints)."""
    try:
        text = digest_path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return text[0] if text and re.fullmatch(r"[0-9a-f]{64}", text[0]) else None


def set_aside_corrupt(directory: Path, recorded: dict[str, str] | None = None) -> list[str]:
    """Rename every checkpoint in ``directory`` whose sha256 differs from the one recorded
    for it (``recorded`` maps resolved paths to hashes, e.g. from the results store; else
    the ``.sha256`` file beside it) to ``<name>.corrupt``, out of the resume path.
    Returns one message per file set aside."""
    recorded = recorded or {}
    notes = []
    for path in list_checkpoints(directory):
        expected = [d for d in (recorded.get(str(path.resolve())), recorded_digest(path)) if d]
        if not expected:
            continue
        actual = sha256_of(path)
        if any(actual != d for d in expected):
            aside = path.with_name(f"{path.name}.corrupt")
            os.replace(path, aside)
            digest_path(path).unlink(missing_ok=True)
            notes.append(f"checkpoint {path} does not match its recorded sha256 "
                         f"({actual[:12]} ≠ {expected[0][:12]}); set aside as {aside.name}")
    return notes


def _clean_key(key: str) -> str:
    return key.replace("_orig_mod.", "")


def save_checkpoint(directory: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict[str, Any], *, keep: int = 3) -> Path:
    """Write ``step_<step>.safetensors`` atomically and prune to the newest ``keep``."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        tensors[f"model.{_clean_key(key)}"] = value.detach().cpu().contiguous()
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for name, value in state.items():
            value = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"optim.{index}.{name}"] = value.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    metadata = {"format": FORMAT, "step": str(step), "meta": json.dumps(meta, sort_keys=True),
                "optim_groups": json.dumps(opt["param_groups"])}
    path = checkpoint_path(directory, step)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".safetensors")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        digest = sha256_of(Path(tmp))
        _write_atomic(digest_path(path), f"{digest}  {path.name}\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
        digest_path(old).unlink(missing_ok=True)
    return path


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and validate a checkpoint; a corrupt or foreign file is a clear RuntimeFailure."""
    expected = recorded_digest(path)
    if expected is not None and path.is_file() and sha256_of(path) != expected:
        raise RuntimeFailure(f"checkpoint {path} does not match the sha256 recorded when it was saved "
                             f"({digest_path(path).name}); delete it to resume from an earlier one")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise RuntimeFailure(f"checkpoint {path} cannot be read ({exc}); delete it to resume from an earlier one") from exc
    if metadata.get("format") != FORMAT:
        raise RuntimeFailure(f"{path} is not an echodsl checkpoint (format {metadata.get('format')!r})")
    meta = json.loads(metadata["meta"])
    meta["optim_groups"] = json.loads(metadata["optim_groups"])
    return Checkpoint(path, int(metadata["step"]), meta, tensors)


def restore(checkpoint: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Load model, optimizer and RNG state from ``checkpoint`` into live objects."""
    model_state = {k[len("model."):]: v for k, v in checkpoint.tensors.items() if k.startswith("model.")}
    missing, unexpected = model.load_state_dict(model_state, strict=False)
    if missing or unexpected:
        raise RuntimeFailure(f"{checkpoint.path} does not fit this model: missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]} (was it written for another profile?)")
    state: dict[int, dict[str, Any]] = {}
    for key, value in checkpoint.tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": checkpoint.meta["optim_groups"]})
    torch.set_rng_state(checkpoint.tensors["rng.torch"])


MEMORY_PREFIXES = ("storage.", "readout.")  # what the I2V model lacks: keeps its fresh init


def load_backbone(model: torch.nn.Module, checkpoint: Path) -> None:
    """Copy the shared backbone's weights into ``model`` (its memory modules keep their init)."""
    ckpt = read_checkpoint(checkpoint)
    state = {k[len("model."):]: v for k, v in ckpt.tensors.items() if k.startswith("model.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    foreign = list(unexpected) + [k for k in missing if not k.startswith(MEMORY_PREFIXES)]
    if foreign:
        raise RuntimeFailure(f"{checkpoint} does not hold this model's backbone: {foreign[:3]}")
