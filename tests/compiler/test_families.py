"""Per-family unit tests with hand-checkable shapes."""

from __future__ import annotations

import pytest
import torch

from echodsl.memory.base import MemoryInput, MemoryTokens
from echodsl.memory.base import MemoryCrossAttention, masked_attend
from echodsl.families.frames.compression import Compression, CompressionConfig, LengthPooling
from echodsl.families.summary.storage import SummaryStorage, SummaryStorageConfig
from echodsl.families.state.storage import Recurrence, StateStorage, StateStorageConfig
from echodsl.lang.settings import settings_of



def test_length_pooling_r4_on_16_gives_4():
    pool = LengthPooling(dim=8, ratio=4)
    x = torch.randn(2, 16, 3, 8)
    out, mask = pool(x, torch.ones(2, 16, dtype=torch.bool))
    assert out.shape == (2, 4, 3, 8) and mask.shape == (2, 4)
    torch.testing.assert_close(out, x.view(2, 4, 4, 3, 8).mean(dim=2))  # mean pooling at init


def test_length_pooling_pads_and_masks():
    pool = LengthPooling(dim=4, ratio=4)
    x = torch.randn(1, 5, 2, 4)
    mask = torch.tensor([[True, False, True, True, False]])
    out, m = pool(x, mask)
    assert out.shape == (1, 2, 2, 4) and m.tolist() == [[True, False]]
    torch.testing.assert_close(out[0, 0], x[0, [0, 2, 3]].mean(dim=0))
    assert torch.count_nonzero(out[0, 1]) == 0


@pytest.mark.parametrize("variant,slots", [("weights", 6), ("length", 3), ("hybrid", 3)])
def test_compression_lengths(variant, slots):
    comp = Compression(CompressionConfig(variant, dim=8, ratio=2))
    x = torch.randn(2, 6, 5, 8)
    out, mask = comp(x, torch.ones(2, 6, dtype=torch.bool))
    assert out.shape == (2, slots, 5, 8) and mask.shape == (2, slots)
    if variant == "weights":
        torch.testing.assert_close(out, x)  # uniform weights at init


def test_masked_attend_is_zero_without_valid_keys():
    q, k, v = torch.randn(2, 3, 2, 4), torch.randn(2, 5, 2, 4), torch.randn(2, 5, 2, 4)
    out = masked_attend(q, k, v, torch.tensor([[True] * 5, [False] * 5]))
    assert torch.isfinite(out).all() and torch.count_nonzero(out[1]) == 0 and torch.count_nonzero(out[0]) > 0


def test_memory_cross_attention_zero_init():
    layer = MemoryCrossAttention(dim=16, memory_dim=8, heads=4)
    mem = MemoryTokens(torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool), slots=0)
    assert torch.count_nonzero(layer(torch.randn(2, 7, 16), mem)) == 0


def _state(recurrence, args, tiny_backbone):
    settings = settings_of("recurrence", {"variant": recurrence, "args": args})
    return StateStorage(StateStorageConfig(128, 32, settings, (8, 8), 8))


@pytest.mark.parametrize("frames", [2, 6])
def test_block_scan_state_size_independent_of_frames(frames, tiny_backbone, make_inputs):
    storage = _state("block_scan", {"block": (4, 4), "state": 16, "every": 4}, tiny_backbone)
    _, mem = make_inputs(memory=frames)
    state = storage.write(tiny_backbone, mem)
    assert state["carry.h"].shape == (2, 4, 32, 16)  # (B, 2x2 blocks, E, Q): no frame axis
    assert storage.read(state).tokens.shape == (2, 64, 32)


def test_block_scan_over_all_frames_equals_frame_by_frame(tiny_backbone, make_inputs):
    storage = _state("block_scan", {"block": (4, 4), "state": 16, "every": 4}, tiny_backbone)
    _, mem = make_inputs(memory=6, drop=True)
    u = torch.randn(2, 6, 64, 32, generator=torch.Generator().manual_seed(0))  # (B, M, n, E)
    rec = storage.recurrence
    start = rec.init_carry(u[:, 0])
    batched = rec.scan(start, u, mem.mask)
    framewise = Recurrence.scan(rec, start, u, mem.mask)  # the generic loop: one step per frame
    assert not mem.mask.all()
    for k in batched:
        torch.testing.assert_close(batched[k], framewise[k])


RECURRENCES = [
    ("gated_ema", {"every": 4}), ("causal_conv", {"kernel": 3, "every": 4}),
    ("block_scan", {"block": (4, 4), "state": 16, "every": 4}), ("smoothing", {"alpha": 0.9}), ("none", {}),
]


@pytest.mark.parametrize("recurrence,args", RECURRENCES)
def test_incremental_write_equals_full_write(recurrence, args, tiny_backbone, make_inputs):
    storage = _state(recurrence, args, tiny_backbone)
    _, mem = make_inputs(memory=6, drop=True)
    with torch.no_grad():
        full = storage.write(tiny_backbone, mem)
        first = storage.write(tiny_backbone, MemoryInput(mem.latents[:, :4], mem.actions[:, :4], mem.mask[:, :4]))
        both = storage.write(tiny_backbone, MemoryInput(mem.latents[:, 4:], mem.actions[:, 4:], mem.mask[:, 4:]), first)
    assert both.frames == full.frames == 6
    for k in full.tensors:
        torch.testing.assert_close(both[k], full[k])
    assert set(full.tensors) == set(storage.write(tiny_backbone, mem, full).tensors)  # constant size


@pytest.mark.parametrize("pool", ["mean", "max"])
def test_summary_grid_and_incremental(pool, tiny_backbone, make_inputs):
    storage = SummaryStorage(SummaryStorageConfig(128, (8, 8), (4, 2), pool, 8))
    _, mem = make_inputs(memory=6, drop=True)
    with torch.no_grad():
        full = storage.write(tiny_backbone, mem)
        part = storage.write(tiny_backbone, MemoryInput(mem.latents[:, :3], mem.actions[:, :3], mem.mask[:, :3]))
        part = storage.write(tiny_backbone, MemoryInput(mem.latents[:, 3:], mem.actions[:, 3:], mem.mask[:, 3:]), part)
    tokens = storage.read(full)
    assert tokens.tokens.shape == (2, 8, 128) and tokens.mask.tolist() == [[True] * 8, [False] * 8]
    torch.testing.assert_close(storage.read(part).tokens, tokens.tokens)
