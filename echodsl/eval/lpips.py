"""LPIPS (Zhang et al. 2018) from local weights only; no downloads, no torchvision.

torchmetrics' LPIPS takes its AlexNet/VGG backbone from torchvision with ImageNet weights
fetched from the internet; this project can use neither. The LPIPS computation itself is
small, so it is re-implemented here for the AlexNet variant ("alex", the LPIPS default)
and fed from files the user already has. ``--lpips-weights PATH`` accepts:

* an AlexNet state dict (``.pth``/``.pt``/``.safetensors``), e.g. torchvision's
  ``alexnet-owt-7be5be79.pth`` (keys ``features.N.weight``), or a full LPIPS state dict
  (keys ``net.sliceK.N.weight`` plus ``linL.model.1.weight``). Where the file has no
  ``lin`` layers, the LPIPS v0.1 linear weights that ship inside torchmetrics
  (``lpips_models/alex.pth``) are used;
* a whole model saved with ``torch.export.save`` (``.pt2``), called as ``model(x, y)`` on
  (N, 3, H, W) frames in [-1, 1] and returning N distances.

Anything else (a TorchScript archive, a pickled module) is refused with a clear error:
those formats run code from the file when loaded.

Without a path there is no LPIPS: callers report the column as unavailable.

Letters: N image pairs, H/W pixels.
"""

from __future__ import annotations

import re
import zipfile
from importlib import resources
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from echodsl.errors import DataError

# LPIPS' input scaling (from ImageNet statistics, expressed for inputs in [-1, 1]).
_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
_TAPS = (1, 4, 7, 9, 11)  # AlexNet `features` indices whose ReLU outputs LPIPS compares
_CHANNELS = (64, 192, 384, 256, 256)


def _alexnet_features() -> nn.Sequential:
    """torchvision's ``alexnet().features`` layer for layer, so its state dict loads as is."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
    )


class AlexLpips(nn.Module):
    """LPIPS-alex: unit-normalised AlexNet activations, squared differences weighted per
    channel by the learned ``lin`` layers, averaged over space, summed over layers."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _alexnet_features()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], (x - _SHIFT) / _SCALE
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in _TAPS:
                out.append(h / torch.sqrt(1e-8 + (h**2).sum(1, keepdim=True)))  # (N, C_l, h_l, w_l)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx, fy = self._taps(x), self._taps(y)
        parts = [lin((a - b) ** 2).mean((2, 3)) for lin, a, b in zip(self.lins, fx, fy)]  # (N, 1) each
        return torch.stack(parts).sum(0)[:, 0]  # (N,)


class Lpips:
    """A loaded LPIPS: ``lpips(x, y)`` maps (N, 3, H, W) pairs in [-1, 1] to N distances."""

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], source: str, kind: str):
        self._fn = fn
        self.source = source  # the weights file, recorded with every result
        self.kind = kind  # "alex-state-dict" or "module"

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        assert x.shape == y.shape and x.dim() == 4, f"{tuple(x.shape)} vs {tuple(y.shape)}"
        # AlexNet's first conv (stride 4) and two 3x3 pools need at least ~31 pixels a side.
        if min(x.shape[-2:]) < 32:
            size = (max(32, x.shape[-2]), max(32, x.shape[-1]))
            x, y = (nn.functional.interpolate(t.float(), size, mode="bilinear", align_corners=False)
                    for t in (x, y))
        return self._fn(x.float().clamp(-1, 1), y.float().clamp(-1, 1)).reshape(x.shape[0]).float()


def load_lpips(path: str | Path | None) -> Lpips | None:
    """The LPIPS for ``--lpips-weights PATH``; None when no path is given (unavailable).

    Raises DataError when the file is missing or is neither a usable state dict nor a
    saved model: a wrong path must not silently turn into "unavailable"."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise DataError("LPIPS weights file not found", str(path))
    if path.suffix == ".pt2":
        module = torch.export.load(str(path)).module()
        return Lpips(module, str(path), "module")
    state = _read_state(path)
    if state is None:
        raise DataError("not an AlexNet/LPIPS state dict (.safetensors, or a .pth/.pt of tensors) nor a "
                        "torch.export .pt2; TorchScript and pickled modules are not loaded", str(path))
    return Lpips(_alex_from_state(state, path).eval(), str(path), "alex-state-dict")


def _read_state(path: Path) -> dict[str, torch.Tensor] | None:
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise DataError(f"not a readable safetensors file ({exc})", str(path)) from None
    if _is_torchscript(path):  # torch.load would hand it to torch.jit.load
        return None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - TorchScript archives and other formats land here
        return None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    return obj if isinstance(obj, dict) else None


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive: a zip holding compiled code (``<name>/code/``) or constants."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.split("/", 1)[-1].startswith("code/") or n.endswith("/constants.pkl")
                   for n in archive.namelist())


# `features.3.weight` (torchvision), `net.slice2.3.weight` (lpips / torchmetrics)
_FEATURE_KEY = re.compile(r"(?:^|\.)(?:features|slice\d)\.(\d+)\.(weight|bias)$")
_LIN_KEY = re.compile(r"(?:^|\.)lin(\d)\.model\.\d\.weight$")


def _alex_from_state(state: dict[str, torch.Tensor], path: Path) -> AlexLpips:
    model = AlexLpips()
    features = {f"{m.group(1)}.{m.group(2)}": v for k, v in state.items() if (m := _FEATURE_KEY.search(k))}
    lins = {f"{m.group(1)}.weight": v for k, v in state.items() if (m := _LIN_KEY.search(k))}
    try:
        model.features.load_state_dict(features, strict=True)
        model.lins.load_state_dict(lins or _bundled_lins(), strict=True)
    except RuntimeError as exc:
        raise DataError(f"not AlexNet/LPIPS-alex weights ({len(features)} feature tensors found): "
                        f"{str(exc).splitlines()[0]}", str(path)) from exc
    return model


def _bundled_lins() -> dict[str, torch.Tensor]:
    """LPIPS v0.1 linear weights for AlexNet as shipped with torchmetrics."""
    ref = resources.files("torchmetrics.functional.image") / "lpips_models" / "alex.pth"
    with resources.as_file(ref) as file:
        state = torch.load(str(file), map_location="cpu", weights_only=True)
    return {f"{m.group(1)}.weight": v for k, v in state.items() if (m := _LIN_KEY.search(k))}
