"""The release's VAE file and a diffusers VAE folder load into the same codec: a small
VAE of the release's layout, saved both ways, encodes and decodes identically."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from echodsl.data.codec import WanCodec
from echodsl.errors import DataError

_RESIDUAL = {"norm1": "residual.0", "conv1": "residual.2", "norm2": "residual.3", "conv2": "residual.6",
             "conv_shortcut": "shortcut"}


def release_key(key: str) -> str:
    """diffusers' name of a Wan VAE tensor -> the release's (written from the release's
    module layout: flat ``downsamples``/``upsamples`` lists, ``middle``, ``head``)."""
    if key.startswith("quant_conv."):
        return key.replace("quant_conv.", "conv1.", 1)
    if key.startswith("post_quant_conv."):
        return key.replace("post_quant_conv.", "conv2.", 1)
    side, rest = key.split(".", 1)
    rest = rest.replace("conv_in.", "conv1.").replace("norm_out.", "head.0.").replace("conv_out.", "head.2.")
    if m := re.match(r"mid_block\.resnets\.(\d)\.(\w+)\.(.*)", rest):
        rest = f"middle.{2 * int(m[1])}.{_RESIDUAL[m[2]]}.{m[3]}"
    elif m := re.match(r"mid_block\.attentions\.0\.(.*)", rest):
        rest = f"middle.1.{m[1]}"
    elif m := re.match(r"down_blocks\.(\d+)\.(norm1|conv1|norm2|conv2|conv_shortcut)\.(.*)", rest):
        rest = f"downsamples.{m[1]}.{_RESIDUAL[m[2]]}.{m[3]}"
    elif m := re.match(r"down_blocks\.(.*)", rest):
        rest = f"downsamples.{m[1]}"
    elif m := re.match(r"up_blocks\.(\d)\.resnets\.(\d)\.(\w+)\.(.*)", rest):
        rest = f"upsamples.{4 * int(m[1]) + int(m[2])}.{_RESIDUAL[m[3]]}.{m[4]}"
    elif m := re.match(r"up_blocks\.(\d)\.upsamplers\.0\.(.*)", rest):
        rest = f"upsamples.{4 * int(m[1]) + 3}.{m[2]}"
    return f"{side}.{rest}"


@pytest.fixture(scope="module")
def small_vae(tmp_path_factory):
    from diffusers import AutoencoderKLWan

    root = tmp_path_factory.mktemp("vae")
    torch.manual_seed(3)
    vae = AutoencoderKLWan(base_dim=8, z_dim=16)  # the release's layout at 1/12 of its width
    vae.save_pretrained(root / "diffusers")
    torch.save({release_key(k): v for k, v in vae.state_dict().items()}, root / "Wan2.1_VAE.pth")
    return root


def test_release_file_and_diffusers_folder_give_the_same_codec(small_vae):
    folder = WanCodec.from_pretrained(small_vae / "diffusers")
    release = WanCodec.from_pretrained(small_vae / "Wan2.1_VAE.pth")
    assert release.fingerprint == folder.fingerprint  # same config and every weight
    frames = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(0)) * 2 - 1  # (N, 3, H, W)
    z = release.encode(frames)
    assert z.shape == (2, 16, 4, 6) and torch.equal(z, folder.encode(frames))
    assert torch.equal(release.decode(z), folder.decode(z))
    assert release.decode(z).shape == frames.shape


def test_a_foreign_file_is_one_clear_error(small_vae, tmp_path):
    state = torch.load(small_vae / "Wan2.1_VAE.pth", weights_only=True)
    state.pop("decoder.head.2.bias")
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(DataError, match="does not fit the Wan2.1 VAE layout"):
        WanCodec.from_pretrained(tmp_path / "broken.pth")
    torch.save({"x": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(DataError, match="not a Wan2.1 VAE state dict"):
        WanCodec.from_pretrained(tmp_path / "other.pth")


def test_the_spec_names_the_vae_and_its_sha256_joins_the_setup(small_vae, tmp_path):
    import hashlib

    import echodsl
    from echodsl.runtime import assemble

    spec = """
profile i2v {}

study real {
    backbone    wan(preset = wan2_1_1_3b, vae = "%s")
    data        world(scenes = 1)
    profiles    i2v
}
"""
    runs = {}
    for name in ("Wan2.1_VAE.pth", "diffusers"):
        study = echodsl.loads(spec % (small_vae / name)).studies["real"]
        runs[name] = assemble.RunConfig.from_study(study, study.profile("i2v"), 0, tmp_path)
    release = runs["Wan2.1_VAE.pth"]
    assert release.backbone["vae_sha256"] == hashlib.sha256((small_vae / "Wan2.1_VAE.pth").read_bytes()).hexdigest()
    assert release.setup_hash != runs["diffusers"].setup_hash
    codecs = [assemble.codec_cache(r).codec for r in runs.values()]
    assert codecs[0].fingerprint == codecs[1].fingerprint == WanCodec.from_pretrained(small_vae / "diffusers").fingerprint


def test_data_encode_fills_the_cache_training_reads_and_resumes(small_vae, tmp_path, monkeypatch):
    """`echodsl data encode` through the CLI: every frame once, sha256-checked, and a second
    run (or a training dataset) reads the same files back instead of encoding."""
    import json

    from click.testing import CliRunner

    import echodsl
    from echodsl.cli import main
    from echodsl.data.export import export_world
    from echodsl.data.world import World, WorldConfig
    from echodsl.runtime import assemble

    monkeypatch.setenv("ECHODSL_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    export_world(World(WorldConfig(scenes=1, frames_per_scene=6, height=32, width=32, seed=0)), data, progress=False)
    spec = tmp_path / "enc.mem"
    spec.write_text(f"""
profile i2v {{}}

study real {{
    backbone    wan(preset = wan2_1_1_3b, vae = "{small_vae / 'Wan2.1_VAE.pth'}")
    data        cam(root = "data")
    profiles    i2v
}}
""")
    args = ["data", "encode", str(data), "--spec", str(spec), "--study", "real", "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["frames"] == 6 and summary["encoded"] == 6 and summary["sequences"] == 1
    files = sorted(Path(summary["cache"]).rglob("*.safetensors"))
    assert len(files) == 6

    again = json.loads(CliRunner().invoke(main, args).output)
    assert again["encoded"] == 0 and again["frames"] == 6  # resumed: all read back and checked

    study = echodsl.load(spec).studies["real"]
    run = assemble.RunConfig.from_study(study, study.profile("i2v"), 0, spec.parent)
    from echodsl.runtime.encode import default_latent_dir

    cache = assemble.codec_cache(run, default_latent_dir())
    seq = assemble.source_of(run).sequence(0)
    z = cache.encode(seq.frames([0, 5]))
    assert cache.encoded == 0 and z.shape == (2, 16, 44, 80)

    # a cached latent whose bytes changed is not trusted: it is encoded again
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(files[0]), "pt") as f:
        meta = f.metadata()
    save_file({"latent": load_file(str(files[0]))["latent"] + 1}, str(files[0]), metadata=meta)
    assert json.loads(CliRunner().invoke(main, args).output)["encoded"] == 1
