"""Camera paths through an embedded-world room: training walks and leave-and-return probes.

Yaw moves on a grid of ``yaw_step_deg`` (yaw aligned with the patch grid
makes the memory effect learnable in minutes). Training walks turn away and come back to
yaws seen many frames earlier, so old frames, not just the anchor, hold what the targets
show: that is what makes retrieved memory useful to learn from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from echodsl.data.camera import pose_from_euler
from echodsl.data.scene import Scene


@dataclass(frozen=True)
class PathConfig:
    """How cameras move. Angles in degrees, distances in metres."""

    yaw_step_deg: float = 11.25  # 90° FOV / 8: 4 pixels at 32x32
    max_speed: int = 2  # yaw grid steps per frame
    return_probability: float = 0.5  # chance each move heads back to an earlier yaw
    camera_radius: float = 1.0  # cameras stay within this disk around the room centre
    camera_height: float = 1.2
    drift: float = 0.03  # translation per frame of the training walk


def _turn(start: int, target: int, speed: int) -> list[int]:
    """Grid yaws strictly after ``start`` up to ``target`` at ``speed`` steps per frame."""
    out, cur = [], start
    while cur != target:
        step = max(-speed, min(speed, target - cur))
        cur += step
        out.append(cur)
    return out


def random_walk(scene: Scene, n_frames: int, gen: torch.Generator, cfg: PathConfig) -> torch.Tensor:
    """A training path of ``n_frames`` poses (T, 4, 4): yaw turns away from and back to
    earlier headings, slow translation drift, no pitch or roll."""
    full = int(round(360.0 / cfg.yaw_step_deg))
    yaws = [int(torch.randint(full, (1,), generator=gen))]
    while len(yaws) < n_frames:
        old = yaws[: max(0, len(yaws) - 6)]
        if old and torch.rand(1, generator=gen).item() < cfg.return_probability:
            target = old[int(torch.randint(len(old), (1,), generator=gen))]
            # Go the short way round to an equivalent heading.
            target = yaws[-1] + ((target - yaws[-1] + full // 2) % full - full // 2)
        else:
            delta = int(torch.randint(3, full // 2 + 1, (1,), generator=gen))
            target = yaws[-1] + (delta if torch.rand(1, generator=gen).item() < 0.5 else -delta)
        speed = int(torch.randint(1, cfg.max_speed + 1, (1,), generator=gen))
        yaws += _turn(yaws[-1], target, speed)
        yaws += [yaws[-1]] * int(torch.randint(0, 3, (1,), generator=gen))
    yaw = torch.tensor(yaws[:n_frames], dtype=torch.float64) * math.radians(cfg.yaw_step_deg)
    pos = _drift(n_frames, gen, cfg)
    zero = torch.zeros(n_frames, dtype=torch.float64)
    return pose_from_euler(pos, yaw, zero, zero)


def _drift(n_frames: int, gen: torch.Generator, cfg: PathConfig) -> torch.Tensor:
    """Positions (T, 3) wandering toward random goals inside the camera disk."""
    def goal() -> torch.Tensor:
        a = 2 * math.pi * torch.rand(1, generator=gen).item()
        r = cfg.camera_radius * math.sqrt(torch.rand(1, generator=gen).item())
        return torch.tensor([r * math.cos(a), r * math.sin(a)], dtype=torch.float64)

    cur, target, out = goal(), goal(), []
    for _ in range(n_frames):
        out.append(cur.clone())
        step = target - cur
        dist = float(torch.linalg.vector_norm(step))
        if cfg.drift == 0:
            continue  # a standing camera: only the yaw moves
        if dist < cfg.drift:
            target = goal()
        else:
            cur = cur + step / dist * cfg.drift
    xy = torch.stack(out)  # (T, 2)
    return torch.cat([xy, torch.full((n_frames, 1), cfg.camera_height, dtype=torch.float64)], 1)


@dataclass(frozen=True)
class ProbePath:
    """Poses of a leave-and-return probe and its phases (frame index ranges)."""

    poses: torch.Tensor  # (T, 4, 4)
    anchor_id: int
    look: range  # frames looking at the anchor
    leave: range  # turning away
    away: range  # held away from the anchor
    back: range  # turning back
    end: range  # held at (near) the starting pose


def leave_and_return(scene: Scene, anchor_id: int, gen: torch.Generator, cfg: PathConfig, *,
                     look_frames: int = 2, away_frames: int = 4, end_frames: int = 4,
                     turn_deg: float = 180.0, speed: int = 2) -> ProbePath:
    """Look at object ``anchor_id``, turn ``turn_deg`` away (left or right at random), hold
    for ``away_frames`` frames, turn back and hold at the starting pose for ``end_frames``."""
    obj = next(o for o in scene.objects if o.object_id == anchor_id)
    a = 2 * math.pi * torch.rand(1, generator=gen).item()
    r = 0.5 * cfg.camera_radius * math.sqrt(torch.rand(1, generator=gen).item())
    pos = torch.tensor([r * math.cos(a), r * math.sin(a), cfg.camera_height], dtype=torch.float64)
    heading = math.atan2(obj.centre[1] - pos[1].item(), obj.centre[0] - pos[0].item())
    start = int(round(math.degrees(heading) / cfg.yaw_step_deg))  # nearest grid yaw to the object
    sign = 1 if torch.rand(1, generator=gen).item() < 0.5 else -1
    far = start + sign * int(round(turn_deg / cfg.yaw_step_deg))
    leave = _turn(start, far, speed)
    back = _turn(far, start, speed)
    yaws = [start] * look_frames + leave + [far] * away_frames + back + [start] * end_frames
    n = len(yaws)
    yaw = torch.tensor(yaws, dtype=torch.float64) * math.radians(cfg.yaw_step_deg)
    zero = torch.zeros(n, dtype=torch.float64)
    poses = pose_from_euler(pos.expand(n, 3), yaw, zero, zero)
    i0 = look_frames
    i1 = i0 + len(leave)
    i2 = i1 + away_frames
    i3 = i2 + len(back)
    return ProbePath(poses, anchor_id, range(0, i0), range(i0, i1), range(i1, i2), range(i2, i3), range(i3, n))
