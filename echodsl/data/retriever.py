"""Memory selection: which past frames a segment (training) or a chunk (inference) sees.

There is exactly one entry point, :func:`select_memory`; the segment dataset and the
rollout sampler both call it, so what the model is trained with is what it gets at test
time. The seed's overlap-drop (drop retrieved frames, keep the anchor) is a training
decision and lives in the segment sampler, not here.

Field-of-view overlap: points are sampled uniformly in the key cameras' frusta (pixel
uniform, depth uniform in ``depth_range``) and each candidate's score is the fraction that
projects inside its image in front of it. A frame facing away scores 0 and is never chosen.

Which cameras are the key (``key``): ``targets``, every frame to generate (the union of
their frusta), or ``middle``, the middle frame of the segment the targets complete, as
Context-as-Memory retrieves R_FOV((s+e)/2, {j < s}, K-1).

How overlap is counted (``overlap``):

* ``unbounded``: a point counts wherever it lies in front of the candidate. Any camera
  behind the key that faces the same way then sees the whole key frustum (score 1.0) and
  outranks a same-place view that is a few degrees off.
* ``bounded``: a point counts only inside the candidate's own depth range too (the far
  limit): a camera 2 m further back loses the key's far end.
* ``symmetric``: the mean of the bounded overlap both ways (key frustum seen by the
  candidate, candidate frustum seen by the key), so a candidate whose view is mostly
  elsewhere scores low even when it covers the key's view.

Ties go to the candidate closest in pose to the key (position in metres plus viewing angle
in radians), then to the more recent frame.

Letters: T target poses, C candidates, S samples per camera.
"""

from __future__ import annotations

import torch

SELECTS: tuple[str, ...] = ("fov", "recent", "uniform")
KEYS: tuple[str, ...] = ("middle", "targets")
OVERLAPS: tuple[str, ...] = ("symmetric", "bounded", "unbounded")
NEAR_M = 0.3  # metres: the near end of every compared frustum (the far end is the profile's far)


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


def key_poses(targets: torch.Tensor, key: str = "targets") -> torch.Tensor:
    """The cameras (T', 4, 4) whose frusta the candidates are scored against.

    ``middle``: the middle frame of the segment anchor + targets, (s+e)/2 in the paper's
    R_FOV((s+e)/2, {j < s}, K-1); with T targets after the anchor that is target
    (T + 1) // 2 - 1 (the only target when T = 1)."""
    if key not in KEYS:
        raise ValueError(f"unknown fov key {key!r}; expected one of {KEYS}")
    if key == "targets" or targets.shape[0] == 0:
        return targets
    middle = max((targets.shape[0] + 1) // 2 - 1, 0)
    return targets[middle : middle + 1]


def fov_overlap(targets: torch.Tensor, candidates: torch.Tensor, k: torch.Tensor, height: int,
                width: int, *, samples: int = 512, depth_range: tuple[float, float] = (0.3, 6.0),
                seed: int = 0, overlap: str = "unbounded") -> torch.Tensor:
    """Overlap (C,) in [0, 1] of each candidate pose (C, 4, 4) with the frusta of
    ``targets`` (T, 4, 4), counted as ``overlap`` says (see the module docstring).
    Deterministic for a given ``seed``."""
    if overlap not in OVERLAPS:
        raise ValueError(f"unknown fov overlap {overlap!r}; expected one of {OVERLAPS}")
    if candidates.shape[0] == 0:
        return torch.zeros(0, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    pts = frustum_points(targets, k, height, width, samples, depth_range, gen)  # (N, 3)
    limit = None if overlap == "unbounded" else depth_range
    forward = sees(pts, candidates, k, height, width, depth_range=limit).double().mean(dim=1)  # (C,)
    if overlap != "symmetric":
        return forward
    # Backward: the candidates' own frusta (S points each) seen by any key camera.
    c = candidates.shape[0]
    own = frustum_points(candidates, k, height, width, samples, depth_range, gen)  # (C * S, 3)
    seen = sees(own, targets, k, height, width, depth_range=depth_range).any(0)  # (C * S,)
    backward = seen.reshape(c, samples).double().mean(dim=1)  # (C,)
    return (forward + backward) / 2


def sees(points: torch.Tensor, cameras: torch.Tensor, k: torch.Tensor, height: int, width: int, *,
         depth_range: tuple[float, float] | None = None) -> torch.Tensor:
    """Which world points (N, 3) project inside each camera's (C, 4, 4) image, in front of
    it (and, given ``depth_range``, at a depth inside it): (C, N) bool. Occlusion is
    ignored (a field-of-view test)."""
    w2c = torch.linalg.inv(cameras.to(torch.float64))  # (C, 4, 4)
    cam = points.to(torch.float64) @ w2c[:, :3, :3].transpose(1, 2) + w2c[:, None, :3, 3]  # (C, N, 3)
    z = cam[..., 2]
    uv = (cam @ k.to(torch.float64).T)[..., :2] / z.clamp(min=1e-9)[..., None]  # (C, N, 2)
    inside = (z > 1e-6) & (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)
    if depth_range is not None:
        inside &= (z >= depth_range[0]) & (z <= depth_range[1])
    return inside


def pose_distance(poses: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Distance (C,) of each pose (C, 4, 4) to the nearest key pose (T, 4, 4): metres
    between centres plus radians between viewing directions (the tie-break's order)."""
    centre = torch.cdist(poses[:, :3, 3].double(), keys[:, :3, 3].double())  # (C, T)
    cos = (poses[:, :3, 2].double() @ keys[:, :3, 2].double().T).clamp(-1.0, 1.0)  # (C, T) optical axes
    return (centre + torch.arccos(cos)).min(dim=1).values


def select_memory(select: str, count: int, history: torch.Tensor, targets: torch.Tensor,
                  k: torch.Tensor, height: int, width: int, *, samples: int = 512,
                  recency: float = 0.0, depth_range: tuple[float, float] = (0.3, 6.0),
                  seed: int = 0, key: str = "targets", overlap: str = "unbounded") -> list[int]:
    """Choose up to ``count`` of the ``history`` poses (C, 4, 4), oldest first, to show the
    model while it generates ``targets`` (T, 4, 4). Returns positions into ``history`` in
    chronological order (history is assumed chronological).

    * ``fov``: the ``count`` best field-of-view overlaps with the ``key`` cameras, counted
      as ``overlap`` says; score = overlap + ``recency`` x (position / (C - 1)); ties go to
      the frame closest in pose to the key, then the more recent one; zero-overlap frames
      are never chosen, so fewer than ``count`` may come back.
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
                      depth_range=depth_range, seed=seed, key=key, overlap=overlap)
    return sorted(ranked[:count])


def rank_fov(history: torch.Tensor, targets: torch.Tensor, k: torch.Tensor, height: int,
             width: int, *, samples: int = 512, recency: float = 0.0,
             depth_range: tuple[float, float] = (0.3, 6.0), seed: int = 0, key: str = "targets",
             overlap: str = "unbounded") -> list[int]:
    """Positions into ``history`` (C, 4, 4), best first by overlap + recency bonus, ties to
    the frame closest in pose to the key, then the more recent one; frames with zero
    overlap are left out."""
    c = history.shape[0]
    keys = key_poses(targets, key)  # (T', 4, 4)
    ov = fov_overlap(keys, history, k, height, width, samples=samples, depth_range=depth_range,
                     seed=seed, overlap=overlap)  # (C,)
    order = torch.arange(c, dtype=torch.float64)
    score = (ov + recency * order / max(c - 1, 1)).tolist()
    near = pose_distance(history, keys).tolist()
    ranked = sorted(range(c), key=lambda i: (-score[i], near[i], -i))
    return [i for i in ranked if ov[i] > 0]


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
