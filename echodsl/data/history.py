"""The history a memory reads: which past frames, in which order, for one segment or chunk.

This is the one call the training sampler and every rollout chunk make, so a memory is
trained on exactly what it reads at test time. Given the poses of every frame before the
segment's anchor and the targets' poses, it returns positions into that history:

* ``fov``, ``recent``, ``uniform``: :func:`echodsl.data.retriever.select_memory` (looked
  up through the module, so a test can watch the call), chronological;
* ``tail``: the ``count`` frames just before the anchor, newest first (the order the
  released Echo-Memory code stores them in).

``chronological`` re-orders the positions oldest -> newest whatever the select gave: a
recurrent state scans its history in time order.

The field-of-view sampling is seeded by the anchor's frame number alone
(:func:`history_seed`), so the sampler and a rollout in the same situation pick the same
frames. Letters: C history frames, T targets.
"""

from __future__ import annotations

import torch

from echodsl.data import retriever
from echodsl.data.seeding import stable_seed

SELECTS: tuple[str, ...] = (*retriever.SELECTS, "tail")


def history_seed(anchor: int) -> int:
    """The retriever's sampling seed for a segment anchored at frame ``anchor``."""
    return stable_seed("history", anchor)


def pick_history(select: str, count: int, history: torch.Tensor, targets: torch.Tensor, k: torch.Tensor,
                 height: int, width: int, *, samples: int = 512, recency: float = 0.0,
                 depth_range: tuple[float, float] = (0.3, 6.0), key: str = "targets", overlap: str = "unbounded",
                 chronological: bool = False) -> list[int]:
    """Positions into ``history`` (C, 4, 4) of up to ``count`` frames to write into memory
    while generating ``targets`` (T, 4, 4); the anchor is the frame right after the history."""
    if select not in SELECTS:
        raise ValueError(f"unknown history select {select!r}; expected one of {SELECTS}")
    c = history.shape[0]
    if count <= 0 or c == 0:
        return []
    if select == "tail":
        picked = list(range(c - 1, max(0, c - count) - 1, -1))  # newest first
    else:
        picked = retriever.select_memory(select, count, history, targets, k, height, width, samples=samples,
                                         recency=recency, depth_range=depth_range, seed=history_seed(c),
                                         key=key, overlap=overlap)
    return sorted(picked) if chronological else picked
