"""Frame codecs (pixels <-> latents) and the on-disk latent cache.

* ``pixels``: identity, latents are the frames themselves (C = 3): the tiny/small presets.
* ``wan``: diffusers ``AutoencoderKLWan``, one frame at a time (each frame becomes one
  latent frame, as the contract needs), latents normalised by the VAE's mean/std. A tiny
  random configuration serves CPU tests; real weights load from a local directory only.

:class:`LatentCache` wraps a codec and stores each frame's latent in a safetensors file
named by the SHA-256 of the frame's uint8 bytes, under a folder named by the codec's own
fingerprint (its config and weights), so a changed VAE can never serve stale latents.

Letters: N frames, C latent channels, H/W pixels, h/w latent grid.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol

import torch
from safetensors.torch import load_file, save_file

from echodsl.data.sequence import to_unit_range
from echodsl.errors import DataError

CODECS = ("pixels", "wan")


class Codec(Protocol):
    channels: int
    scale: int  # pixels per latent cell along each axis
    fingerprint: str  # changes whenever encode() would give different latents

    def encode(self, frames: torch.Tensor) -> torch.Tensor: ...

    def decode(self, latents: torch.Tensor) -> torch.Tensor: ...


class PixelCodec:
    """Identity codec: frames (N, 3, H, W) in [-1, 1] are their own latents."""

    channels, scale, fingerprint = 3, 1, "pixels-v1"

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.float()

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return latents.float()


# A ~1 M parameter Wan VAE for CPU tests: same architecture family, 8x spatial downsampling.
TINY_WAN = {"base_dim": 16, "z_dim": 16, "dim_mult": [1, 1, 2, 2], "num_res_blocks": 1,
            "temperal_downsample": [False, False, False]}


class WanCodec:
    """Per-frame ``AutoencoderKLWan`` codec (frames (N, 3, H, W) -> latents (N, 16, H/8, W/8))."""

    scale = 8

    def __init__(self, vae: torch.nn.Module):
        self.vae = vae.eval().requires_grad_(False)
        cfg = vae.config
        self.channels = int(cfg.z_dim)
        self.mean = torch.tensor(cfg.latents_mean).view(1, -1, 1, 1)
        self.std = torch.tensor(cfg.latents_std).view(1, -1, 1, 1)
        self.fingerprint = _fingerprint(vae)

    @classmethod
    def tiny(cls, seed: int = 0) -> "WanCodec":
        """A randomly initialised tiny VAE (deterministic for ``seed``): for tests only."""
        from diffusers import AutoencoderKLWan

        torch.manual_seed(seed)
        return cls(AutoencoderKLWan(**TINY_WAN))

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> "WanCodec":
        """Load real weights from a local directory (a diffusers VAE folder, or a model
        folder with a ``vae/`` subfolder) or the release's single ``Wan2.1_VAE.pth``.
        Never downloads."""
        from diffusers import AutoencoderKLWan

        root = Path(path)
        if root.is_file():
            from echodsl.backbone.vae_release import load_release_vae

            return cls(load_release_vae(root))
        sub = "vae" if (root / "vae" / "config.json").exists() else None
        if not (root / (sub or "") / "config.json").exists():
            raise DataError("no Wan VAE config.json here (expected a diffusers folder)", str(root))
        vae = AutoencoderKLWan.from_pretrained(str(root), subfolder=sub, local_files_only=True)
        return cls(vae)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        dtype = next(self.vae.parameters()).dtype
        x = frames.to(dtype).unsqueeze(2)  # (N, 3, 1, H, W): each frame its own 1-frame clip
        z = self.vae.encode(x).latent_dist.mode()[:, :, 0].float()  # (N, C, h, w)
        return (z - self.mean) / self.std

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        dtype = next(self.vae.parameters()).dtype
        z = (latents.float() * self.std + self.mean).to(dtype).unsqueeze(2)  # (N, C, 1, h, w)
        return self.vae.decode(z).sample[:, :, 0].float().clamp(-1, 1)  # (N, 3, H, W)


def _fingerprint(module: torch.nn.Module) -> str:
    """SHA-256 over the config and every weight: identical iff the codec is identical."""
    # Private keys (_name_or_path, _diffusers_version...) say where it came from, not what it is.
    config = {k: v for k, v in dict(module.config).items() if not k.startswith("_")}
    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return "wan-" + h.hexdigest()[:32]


def _digest(latent: torch.Tensor) -> str:
    return hashlib.sha256(latent.contiguous().numpy().tobytes()).hexdigest()


def _read_latent(path: Path) -> torch.Tensor:
    """A cached latent; raises if its bytes differ from the sha256 written with it."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        latent, digest = f.get_tensor("latent"), (f.metadata() or {}).get("sha256")
    if digest is not None and digest != _digest(latent):
        raise ValueError(f"{path}: latent does not match its sha256")
    return latent


def make_codec(name: str, weights: str | os.PathLike | None = None) -> Codec:
    """``pixels``, or ``wan`` (real weights from ``weights``, else the tiny test VAE)."""
    if name == "pixels":
        return PixelCodec()
    if name == "wan":
        return WanCodec.from_pretrained(weights) if weights else WanCodec.tiny()
    raise ValueError(f"unknown codec {name!r}; expected one of {CODECS}")


class LatentCache:
    """Encode uint8 frames through ``codec``, reusing latents stored under ``root``.

    ``root=None`` disables the disk cache (the identity codec never needs one)."""

    def __init__(self, codec: Codec, root: str | os.PathLike | None = None):
        self.codec = codec
        self.root = Path(root) / codec.fingerprint if root is not None else None
        self.encoded = 0  # frames this cache encoded (the rest it read back)

    def _path(self, frame: torch.Tensor) -> Path:
        h = hashlib.sha256(str(tuple(frame.shape)).encode() + frame.contiguous().numpy().tobytes())
        key = h.hexdigest()
        return self.root / key[:2] / f"{key}.safetensors"

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """Latents (N, C, h, w) of uint8 frames (N, 3, H, W)."""
        if self.root is None or isinstance(self.codec, PixelCodec):
            return self.codec.encode(to_unit_range(frames))
        paths = [self._path(f) for f in frames]
        out: list[torch.Tensor | None] = [None] * len(paths)
        missing = []
        for i, p in enumerate(paths):
            if p.exists():
                try:
                    out[i] = _read_latent(p)
                    continue
                except Exception:  # a torn write or a changed file: recompute it
                    pass
            missing.append(i)
        if missing:
            new = self.codec.encode(to_unit_range(frames[missing]))  # (n, C, h, w)
            self.encoded += len(missing)
            for i, z in zip(missing, new):
                out[i] = z
                paths[i].parent.mkdir(parents=True, exist_ok=True)
                tmp = paths[i].with_suffix(f".{os.getpid()}.tmp")
                z = z.contiguous()
                save_file({"latent": z}, str(tmp), metadata={"sha256": _digest(z)})
                os.replace(tmp, paths[i])  # atomic: readers never see half a file
        return torch.stack(out)  # type: ignore[arg-type]
