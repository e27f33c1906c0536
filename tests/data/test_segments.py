"""Segment batches follow docs/contracts.md for every memory kind, from the world."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from echodsl.data.camera import relative_actions
from echodsl.data.codec import LatentCache, WanCodec
from echodsl.data.segments import SamplerConfig, SegmentDataset, with_memory
from echodsl.data.text import TextConfig, embed_caption


def check_batch(batch: dict, b: int, f: int, m: int, c: int, h: int, w: int) -> None:
    assert batch["frames"].shape == (b, f, 3, 32, 32)
    assert batch["frames"].min() >= -1 and batch["frames"].max() <= 1
    assert batch["latents"].shape == (b, f, c, h, w)
    assert batch["poses"].shape == (b, f, 4, 4) and batch["intrinsics"].shape == (b, 3, 3)
    assert batch["actions"].shape == (b, f, 12)
    identity = torch.tensor([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1.0])
    assert torch.allclose(batch["actions"][:, 0], identity.expand(b, 12), atol=1e-5)
    for key, shape in [("memory_frames", (3, 32, 32)), ("memory_latents", (c, h, w)), ("memory_actions", (12,))]:
        assert batch[key].shape == (b, m, *shape), key
    assert batch["memory_mask"].shape == (b, m) and batch["memory_mask"].dtype == torch.bool
    assert batch["text"].shape == (b, 16, 64)
    for i in range(b):
        idx = batch["memory_indices"][i][batch["memory_mask"][i]]
        assert torch.all(idx[1:] > idx[:-1])  # chronological
        assert torch.all(idx < batch["frame_indices"][i, 0])  # only the past
        assert not batch["memory_frames"][i][~batch["memory_mask"][i]].any()
        rel = relative_actions(batch["poses"][i].double())
        assert torch.allclose(batch["actions"][i], rel, atol=1e-5)


@pytest.mark.parametrize("select", ["fov", "recent", "uniform"])
def test_world_batch_for_every_memory_kind(world, select):
    config = with_memory(SamplerConfig(overlap_drop=0.0, window_stride=4), select, 3)
    ds = SegmentDataset(world, config)
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    check_batch(batch, 4, 5, 3, 3, 32, 32)
    late = ds[len(ds) - 1]
    assert late["memory_mask"].sum() >= 1
    assert torch.equal(late["latents"], late["frames"])  # pixels codec: identity


def test_overlap_drop_empties_memory_and_keeps_the_anchor(world):
    ds = SegmentDataset(world, SamplerConfig(overlap_drop=0.999, window_stride=8))
    item = ds[len(ds) - 1]
    assert not item["memory_mask"].any() and (item["memory_indices"] == -1).all()
    assert item["frames"][0].abs().sum() > 0


def test_memory_pays_off_targets_revisit_old_views(world):
    ds = SegmentDataset(world, SamplerConfig(overlap_drop=0.0, window_stride=2, memory=4))
    gaps = [start - memory[0] for (_, start), memory in
            ((ds.windows[i], ds.memory_for(i)) for i in range(len(ds))) if memory]
    assert max(gaps) >= 6  # some segments see content far older than the anchor


def test_wan_codec_latents_are_cached_by_content(world, tmp_path):
    cache = LatentCache(WanCodec.tiny(), tmp_path)
    ds = SegmentDataset(world, SamplerConfig(overlap_drop=0.0, memory=2, window_stride=16), cache)
    first = ds[1]
    assert first["latents"].shape == (5, 16, 4, 4) and first["memory_latents"].shape == (2, 16, 4, 4)
    files = sorted(tmp_path.rglob("*.safetensors"))
    assert len(files) == 5 + int(first["memory_mask"].sum())
    stamps = [f.stat().st_mtime_ns for f in files]
    again = ds[1]
    assert torch.equal(first["latents"], again["latents"])
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_wan_codec_loads_real_weights_from_a_local_directory(tmp_path):
    tiny = WanCodec.tiny(seed=1)
    tiny.vae.save_pretrained(tmp_path / "model" / "vae")
    loaded = WanCodec.from_pretrained(tmp_path / "model")
    assert loaded.fingerprint == tiny.fingerprint
    frames = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(loaded.encode(frames), tiny.encode(frames))
    assert loaded.decode(loaded.encode(frames)).shape == (2, 3, 16, 16)


def test_caption_embedding_is_deterministic_and_distinguishes_captions():
    cfg = TextConfig(dim=32, max_tokens=8)
    a = embed_caption("a red striped sphere", cfg)
    assert a.shape == (8, 32) and torch.equal(a, embed_caption("a red striped sphere", cfg))
    assert not torch.equal(a, embed_caption("a blue striped sphere", cfg))
    assert not a[4:].any()
