"""Memory selection: which past frames a segment (training) or a chunk (inference) sees.

There is exactly one entry point, :func:`select_memory`; the segment dataset and the
rollout sampler both call it, so what the model is trained with is what it gets at test
time. The seed's overlap-drop (drop retrieved frames, keep the anchor) is a training
decision and lives in the segment sampler, not here.

Field-of-view overlap: points are sampled uniformly in the target cameras' frusta (pixel
uniform, depth uniform in ``depth_range``) and each candidate's score is the fraction that
projects inside its image in front of it. A frame facing away scores 0 and is never chosen.

Letters: T target poses, C candidates, S samples per target.
"""

from __future__ import annotations

import torch

SELECTS: tuple[str, ...] = ("fov", "recent", "uniform")


def frustum_points(poses: torch.Tensor, k: torch.Tensor, height: int, width: int, samples: int,
                   depth_range: tuple[float, float], generator: torch.Generator) -> torch.Tensor:
    """World points (T * S, 3) sampled uniformly in pixels and depth inside each frustum."""
    t = poses.shape[0]
    uv = torch.rand(t, samples, 2, generator=generator, dtype=torch.float64)
    uv = uv * torch.tensor([width, height], dtype=torch.float64)  # (T, S, 2)
    near, far = depth_range
    z = near + (far - near) * torch.rand(t, samples, 1, generator=generator, dtype=torch.float64)
    pix = torch.cat([uv, torch.ones_like(z)], -1)  # (T, S, 3)
    cam = (pix @ torch.linalg.inv(k.to(torch.float64)).T) * z  # (T, S, 3)
    rot, centre = poses[:, :3, :3].to(torch.float64), poses[:, :3, 3].to(torch.float64)
    world = cam @ rot.transpose(1, 2) + centre[:, None, :]  # (T, S, 3)
    return world.reshape(-1, 3)


def fov_overlap(targets: torch.Tensor, candidates: torch.Tensor, k: torch.Tensor, height: int,
                width: int, *, samples: int = 512, depth_range: tuple[float, float] = (0.3, 6.0),
                seed: int = 0) -> torch.Tensor:
    """Fraction (C,) of points sampled in the target frusta (T, 4, 4) that each candidate
    pose (C, 4, 4) sees. Deterministic for a given ``seed``."""
    if candidates.shape[0] == 0:
        return torch.zeros(0, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    pts = frustum_points(targets, k, height, width, samples, depth_range, gen)  # (N, 3)
    return sees(pts, candidates, k, height, width).double().mean(dim=1)  # (C,)


def sees(points: torch.Tensor, cameras: torch.Tensor, k: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Which world points (N, 3) project inside each camera's (C, 4, 4) image, in front of
    it: (C, N) bool. Occlusion is ignored (a field-of-view test)."""
    w2c = torch.linalg.inv(cameras.to(torch.float64))  # (C, 4, 4)
    cam = points.to(torch.float64) @ w2c[:, :3, :3].transpose(1, 2) + w2c[:, None, :3, 3]  # (C, N, 3)
    z = cam[..., 2]
    uv = (cam @ k.to(torch.float64).T)[..., :2] / z.clamp(min=1e-9)[..., None]  # (C, N, 2)
    return (z > 1e-6) & (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)


def select_memory(select: str, count: int, history: torch.Tensor, targets: torch.Tensor,
                  k: torch.Tensor, height: int, width: int, *, samples: int = 512,
                  recency: float = 0.0, depth_range: tuple[float, float] = (0.3, 6.0),
                  seed: int = 0) -> list[int]:
    """Choose up to ``count`` of the ``history`` poses (C, 4, 4), oldest first, to show the
    model while it generates ``targets`` (T, 4, 4). Returns positions into ``history`` in
    chronological order (history is assumed chronological).

    * ``fov``: the ``count`` best field-of-view overlaps; score = overlap + ``recency`` x
      (position / (C - 1)); ties go to the more recent frame; zero-overlap frames are never
      chosen, so fewer than ``count`` may come back.
    * ``recent``: the last ``count`` frames.
    * ``uniform``: ``count`` frames evenly spaced over the history (always the oldest and,
      for count >= 2, the newest).
    """
    if select not in SELECTS:
        raise ValueError(f"unknown memory select {select!r}; expected one of {SELECTS}")
    c = history.shape[0]
    if count <= 0 or c == 0:
        return []
    if select == "recent":
        return list(range(max(0, c - count), c))
    if select == "uniform":
        if count >= c:
            return list(range(c))
        if count == 1:
            return [0]
        pos = torch.linspace(0, c - 1, count).round().long().tolist()
        return sorted(set(pos))
    ranked = rank_fov(history, targets, k, height, width, samples=samples, recency=recency,
                      depth_range=depth_range, seed=seed)
    return sorted(ranked[:count])


def rank_fov(history: torch.Tensor, targets: torch.Tensor, k: torch.Tensor, height: int,
             width: int, *, samples: int = 512, recency: float = 0.0,
             depth_range: tuple[float, float] = (0.3, 6.0), seed: int = 0) -> list[int]:
    """Positions into ``history`` (C, 4, 4), best first by overlap + recency bonus, ties to
    the more recent frame; frames with zero overlap are left out."""
    c = history.shape[0]
    overlap = fov_overlap(targets, history, k, height, width, samples=samples,
                          depth_range=depth_range, seed=seed)  # (C,)
    order = torch.arange(c, dtype=torch.float64)
    score = overlap + recency * order / max(c - 1, 1)
    # Ties go to the more recent frame: stable sort over positions listed newest first.
    by_recent = torch.argsort(order, descending=True)
    ranked = by_recent[torch.argsort(score[by_recent], descending=True, stable=True)]
    return [int(i) for i in ranked if overlap[i] > 0]


def overlap_labels(poses: torch.Tensor, k: torch.Tensor, height: int, width: int, *,
                   frames: list[int] | None = None, threshold: float = 0.25, samples: int = 256,
                   depth_range: tuple[float, float] = (0.3, 6.0)) -> dict[int, list[int]]:
    """For each frame in ``frames`` (default all) of a sequence with poses (T, 4, 4): the
    other frames that see at least ``threshold`` of its frustum. This is what the
    Context-as-Memory ``overlap_labels/`` hold; export writes it and ``check`` compares."""
    out = {}
    for f in range(poses.shape[0]) if frames is None else frames:
        ov = fov_overlap(poses[f : f + 1], poses, k, height, width, samples=samples,
                         depth_range=depth_range, seed=f)  # (T,)
        out[f] = [int(i) for i in torch.nonzero(ov >= threshold).flatten() if int(i) != f]
    return out
