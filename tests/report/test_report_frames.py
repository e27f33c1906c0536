"""The probe frames evaluation keeps for the report: written as strips, read back pixel-exact."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image

from echodsl.data.world import World, WorldConfig
from echodsl.eval.frames import read_probe_frames, save_probe_frames, saved_frame_files
from echodsl.report.collect import ProbeView
from echodsl.report.media import animations, filmstrip


def _frames(images) -> np.ndarray:
    return np.stack([np.asarray(im) for im in images])  # (T, H, W, 3)


def test_saved_probe_frames_read_back_exactly(tmp_path):
    probe = World(WorldConfig(scenes=2)).probe(1, "open")
    generated = torch.rand(probe.frames.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1  # (T, 3, H, W)
    written = save_probe_frames(tmp_path, probe, generated)
    assert [p.name for p in written] == ["open0001.generated.png", "open0001.truth.png", "open0001.json"]
    assert saved_frame_files(tmp_path) == written

    back = read_probe_frames(written[-1])
    assert (back.case_id, back.split, back.anchor) == ("open0001", "open", probe.anchor)
    assert back.away == probe.away and back.revisit == probe.revisit
    assert np.array_equal(_frames(back.truth), probe.frames.permute(0, 2, 3, 1).numpy())
    expected = ((generated.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(_frames(back.generated), expected)


def test_filmstrip_and_animation_show_the_probe_roles(tmp_path):
    probe = World(WorldConfig(scenes=2)).probe(0, "in")
    generated = probe.frames.float() / 127.5 - 1  # a perfect rollout
    frames = read_probe_frames(save_probe_frames(tmp_path, probe, generated)[-1])
    view = ProbeView("in0000", "in", probe.anchor, frames, {"a": (0, frames), "b": (1, frames)})
    tiles = filmstrip(view)
    roles = [t.role for t in tiles]
    assert roles == ["anchor", *["away"] * min(4, len(probe.away)), "truth", "generated", "generated"]
    assert tiles[-1].caption == "b · seed 1" and all(t.uri.startswith("data:image/png;base64,") for t in tiles)
    anims = animations(view)
    assert [a.design for a in anims] == ["a", "b"]
    with Image.open(io.BytesIO(base64.b64decode(anims[0].uri.split(",", 1)[1]))) as gif:
        assert gif.format == "GIF" and gif.n_frames >= 2 and gif.width > 2 * 32
