"""The one history call the sampler and every rollout chunk make."""

import pytest
import torch

from echodsl.data import history, retriever
from echodsl.lang.history import describe
import echodsl

K = torch.tensor([[16.0, 0, 16], [0, 16.0, 16], [0, 0, 1]])


def _poses(n):
    poses = torch.eye(4).repeat(n, 1, 1)
    poses[:, 0, 3] = torch.arange(n) * 0.1
    return poses


def test_tail_is_the_frames_before_the_segment_newest_first():
    past = _poses(10)
    assert history.pick_history("tail", 3, past, past[:1], K, 32, 32) == [9, 8, 7]
    assert history.pick_history("tail", 3, past, past[:1], K, 32, 32, chronological=True) == [7, 8, 9]
    assert history.pick_history("tail", 20, past[:2], past[:1], K, 32, 32) == [1, 0]
    assert history.pick_history("tail", 3, past[:0], past[:1], K, 32, 32) == []
    with pytest.raises(ValueError):
        history.pick_history("best", 3, past, past[:1], K, 32, 32)


def test_retrieval_goes_through_the_retriever_seeded_by_the_anchor(monkeypatch):
    calls = []
    real = retriever.select_memory

    def spy(*args, **kwargs):
        calls.append(kwargs["seed"])
        return real(*args, **kwargs)

    monkeypatch.setattr(retriever, "select_memory", spy)
    past = _poses(10)
    assert history.pick_history("recent", 3, past, past[:1], K, 32, 32) == [7, 8, 9]
    history.pick_history("fov", 3, past[:6], past[6:7], K, 32, 32)
    assert calls == [history.history_seed(10), history.history_seed(6)]


def test_describe_names_every_history():
    doc = echodsl.loads("""
        profile a {}
        profile b { storage state(select = tail(n = 3), dim = 8) }
        profile c { storage frames(k = 2, select = uniform) }
    """)
    assert describe(doc.profile("a").canonical()) == "none (anchor only)"
    assert describe(doc.profile("b").canonical()) == "k = 4: 3 frames by tail(n = 3), oldest -> newest"
    assert describe(doc.profile("c").canonical()) == "k = 2: 1 frame by uniform, oldest first"
