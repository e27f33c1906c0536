"""Backbone: presets agree with the language's budget table, the block-level forward is
diffusers' forward bit for bit, action conditioning starts at zero."""

from __future__ import annotations

import json

import pytest
import torch

from echodsl.backbone import PRESETS, ActionConditioner, ActionConfig, attention_backend, backbone_config
from echodsl.errors import BuildError



@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_layer_reads_the_one_preset_table(preset):
    from echodsl.data.segments import SamplerConfig
    from echodsl.lang.schema import STUDY_CLAUSES

    cfg = backbone_config(preset)
    sampler = SamplerConfig.for_preset(preset)
    assert (sampler.segment_frames, sampler.frame_stride) == (cfg.segment_frames, cfg.frame_stride)
    assert preset in STUDY_CLAUSES["backbone"]["wan"]["preset"].choices
    assert cfg.latent_hw[0] * cfg.frame_hw[1] == cfg.latent_hw[1] * cfg.frame_hw[0]  # one scale for both sides


def test_wan_preset_geometry():
    cfg = backbone_config("wan2_1_1_3b")
    assert (cfg.latent_channels, cfg.latent_hw, cfg.grid, cfg.dim) == (16, (44, 80), (22, 40), 1536)


def test_local_config_overrides_architecture(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"num_layers": 2, "in_channels": 16, "ffn_dim": 128}))
    cfg = backbone_config("wan2_1_1_3b", tmp_path)
    assert (cfg.num_layers, cfg.ffn_dim, cfg.latent_hw) == (2, 128, (44, 80))
    with pytest.raises(BuildError):
        backbone_config("wan2_1_1_3b", tmp_path / "missing.json")
    with pytest.raises(BuildError):
        backbone_config("huge")


def test_block_forward_equals_diffusers(tiny_backbone, make_inputs):
    (latents, timesteps, _, text), _ = make_inputs()
    b, f = timesteps.shape
    per_token = timesteps[:, :, None].expand(b, f, 64).reshape(b, f * 64)
    with torch.no_grad():
        ours = tiny_backbone(latents, timesteps, text)
        ref = tiny_backbone.dit(latents.transpose(1, 2), per_token, text, return_dict=False)[0].transpose(1, 2)
    assert torch.equal(ours, ref)


def test_rotary_at_matches_wan_and_negates_sine(tiny_backbone):
    cos, sin = tiny_backbone.rotary(3)
    cos2, sin2 = tiny_backbone.rotary_at([0, 1, 2])
    assert torch.equal(cos, cos2) and torch.equal(sin, sin2)
    cos_n, sin_n = tiny_backbone.rotary_at([-2])
    cos_p, sin_p = tiny_backbone.rotary_at([2])
    t = tiny_backbone.dit.rope.t_dim
    assert torch.equal(cos_n, cos_p) and torch.equal(sin_n[..., :t], -sin_p[..., :t])


def test_action_conditioner_starts_at_zero_and_learns():
    act = ActionConditioner(ActionConfig(dim=16, inject="post_attn", grid=(2, 2)))
    a = torch.randn(2, 3, 12, requires_grad=True)
    out = act(a)
    assert out.shape == (2, 12, 16) and torch.count_nonzero(out) == 0
    out.sum().backward()
    assert act.embed.mlp[2].weight.grad.abs().sum() > 0


def test_tokens_looking_the_same_way_get_the_same_ray_features():
    """Turn a frame so that its column 3 looks where the anchor's column 5 looks: those two
    tokens get identical direction features (and distant columns do not)."""
    import math

    from echodsl.backbone.camera import pixel_rays, ray_features

    grid = (1, 8)
    rays = pixel_rays(grid, 90.0)  # (8, 3)
    angle = math.atan2(rays[5, 0], rays[5, 2]) - math.atan2(rays[3, 0], rays[3, 2])  # yaw about y
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    actions = torch.stack([torch.cat([torch.zeros(3), torch.eye(3).flatten()]),
                           torch.cat([torch.zeros(3), rot.flatten()])])[None]  # (1, 2, 12)
    f = ray_features(actions, rays)  # (1, 2, 8, features)
    assert torch.allclose(f[0, 1, 3, :-3], f[0, 0, 5, :-3], atol=1e-5)  # all but the translation
    assert not torch.allclose(f[0, 1, 3, :3], f[0, 0, 3, :3], atol=1e-2)
    with pytest.raises(ValueError):
        ActionConditioner(ActionConfig(dim=16, inject="everywhere"))


def test_attention_backend_on_cpu_is_sdpa():
    assert attention_backend("cpu") == "sdpa"
