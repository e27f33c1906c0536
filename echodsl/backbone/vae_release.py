"""The Wan2.1 release's VAE file (``Wan2.1_VAE.pth``) as a diffusers ``AutoencoderKLWan``.

The release ships its VAE as one torch state dict with the original module names
(``encoder.downsamples.0.residual.2.weight``); diffusers' own Wan key map renames them.
The architecture is the release's (``dim_mult`` 1, 2, 4, 4, two residual blocks per level,
temporal downsampling in the last two levels, which that key map assumes); the base
width and latent channels are read from the file itself, so a smaller model of the same
layout loads too. Read locally with ``weights_only`` (no code in the file runs).
"""

from __future__ import annotations

from pathlib import Path

from echodsl.errors import DataError

RELEASE_LAYOUT = {"dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "temperal_downsample": [False, True, True]}


def read_release_state(path: Path) -> dict:
    """The file's tensors (``.pth``/``.pt`` torch state dict, or ``.safetensors``)."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same one-line error
        raise DataError(f"cannot read a Wan VAE state dict ({type(exc).__name__}: {exc})", str(path)) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or "encoder.conv1.weight" not in state or "conv1.weight" not in state:
        raise DataError("not a Wan2.1 VAE state dict (no encoder.conv1.weight / conv1.weight)", str(path))
    return state


def load_release_vae(path: str | Path):
    """An ``AutoencoderKLWan`` with the weights of the release-format file at ``path``."""
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    path = Path(path)
    state = read_release_state(path)
    base_dim = int(state["encoder.conv1.weight"].shape[0])
    z_dim = int(state["conv1.weight"].shape[0]) // 2  # the quant conv maps 2·z to 2·z (mean, log-variance)
    vae = AutoencoderKLWan(base_dim=base_dim, z_dim=z_dim, **RELEASE_LAYOUT)
    converted = convert_wan_vae_to_diffusers(dict(state))
    own = vae.state_dict()
    for key in own:
        if key in converted and tuple(converted[key].shape) != tuple(own[key].shape):
            raise DataError(f"does not fit the Wan2.1 VAE layout: {key} is {tuple(converted[key].shape)} in the "
                            f"file, {tuple(own[key].shape)} in the model", str(path))
    missing, unexpected = vae.load_state_dict(converted, strict=False)
    if missing or unexpected:
        first = (list(missing) + list(unexpected))[0]
        raise DataError(f"does not fit the Wan2.1 VAE layout: {len(missing)} tensor(s) missing, "
                        f"{len(unexpected)} unexpected (first: {first})", str(path))
    return vae
