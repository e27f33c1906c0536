"""Pinhole camera maths shared by the renderer, the retriever and the loaders.

Conventions (a tested contract, see docs/data.md):

* World frame: right-handed, metres, z up. The embedded world uses x "forward" (east),
  y left (north), z up, so it is the Unreal frame with the y axis flipped.
* Camera axes are OpenCV's: x right, y down, z forward. A pose is a (4, 4)
  camera-to-world matrix ``[R | t]``: ``R``'s columns are the camera's right, down and
  forward axes in world coordinates, ``t`` is the camera centre.
* Yaw turns left (counter-clockwise seen from above, from +x toward +y), pitch looks up,
  roll rotates the image clockwise (the right side of the view drops).

Letters: N points, P poses, H/W pixels.
"""

from __future__ import annotations

import math

import torch

# Columns: the camera's right, down, forward axes in the body frame (x fwd, y left, z up).
_BODY_FROM_CV = torch.tensor(
    [[0.0, 0.0, 1.0],
     [-1.0, 0.0, 0.0],
     [0.0, -1.0, 0.0]],
    dtype=torch.float64,
)


def intrinsics_from_fov(width: int, height: int, fov_deg: float) -> torch.Tensor:
    """(3, 3) pinhole intrinsics for a horizontal field of view, square pixels,
    principal point at the image centre (pixel centres at integer + 0.5)."""
    f = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return torch.tensor(
        [[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]], dtype=torch.float64
    )


def _rot_x(a: torch.Tensor) -> torch.Tensor:
    c, s, o, z = a.cos(), a.sin(), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(*a.shape, 3, 3)


def _rot_y(a: torch.Tensor) -> torch.Tensor:
    c, s, o, z = a.cos(), a.sin(), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*a.shape, 3, 3)


def _rot_z(a: torch.Tensor) -> torch.Tensor:
    c, s, o, z = a.cos(), a.sin(), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*a.shape, 3, 3)


def pose_from_euler(position: torch.Tensor, yaw: torch.Tensor, pitch: torch.Tensor,
                    roll: torch.Tensor) -> torch.Tensor:
    """Camera-to-world poses (..., 4, 4) float64 from positions (..., 3) metres and angles
    in radians (yaw left, pitch up, roll clockwise; applied yaw, then pitch, then roll)."""
    yaw, pitch, roll = (torch.as_tensor(a, dtype=torch.float64) for a in (yaw, pitch, roll))
    # Body rotation: yaw about +z, pitch about the body's left axis (negative = nose up),
    # roll about the forward axis (negative angle tips the right side down).
    body = _rot_z(yaw) @ _rot_y(-pitch) @ _rot_x(roll)  # (..., 3, 3)
    rot = body @ _BODY_FROM_CV  # (..., 3, 3)
    pose = torch.zeros(*rot.shape[:-2], 4, 4, dtype=torch.float64)
    pose[..., :3, :3] = rot
    pose[..., :3, 3] = torch.as_tensor(position, dtype=torch.float64)
    pose[..., 3, 3] = 1.0
    return pose


def euler_from_pose(pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse of :func:`pose_from_euler`: (yaw, pitch, roll) in radians."""
    body = pose[..., :3, :3].to(torch.float64) @ _BODY_FROM_CV.T  # (..., 3, 3)
    # body = Rz(yaw) Ry(-pitch) Rx(roll); read the standard ZYX angles off it.
    yaw = torch.atan2(body[..., 1, 0], body[..., 0, 0])
    pitch = torch.asin((body[..., 2, 0]).clamp(-1.0, 1.0))
    roll = torch.atan2(body[..., 2, 1], body[..., 2, 2])
    return yaw, pitch, roll


def look_at(position: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(4, 4) pose at ``position`` whose forward axis points at ``target``, no roll."""
    d = torch.as_tensor(target, dtype=torch.float64) - torch.as_tensor(position, dtype=torch.float64)
    yaw = torch.atan2(d[1], d[0])
    pitch = torch.atan2(d[2], torch.linalg.vector_norm(d[:2]))
    return pose_from_euler(position, yaw, pitch, torch.tensor(0.0))


def relative_actions(poses: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """12-d actions (P, 12) of poses (P, 4, 4) relative to ``reference`` (default poses[0]):
    ``rel = inv(reference) @ pose``; translation (3) then row-major rotation (9)."""
    ref = poses[0] if reference is None else reference
    rel = torch.linalg.inv(ref.to(torch.float64)) @ poses.to(torch.float64)  # (P, 4, 4)
    return torch.cat([rel[:, :3, 3], rel[:, :3, :3].reshape(-1, 9)], dim=1).float()


def project(points: torch.Tensor, pose: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Project world points (N, 3) into a camera: pixel coordinates (N, 2) and depth (N,).
    Pixel (u, v) = (column, row) in continuous coordinates; pixel i covers [i, i + 1)."""
    w2c = torch.linalg.inv(pose.to(torch.float64))
    cam = points.to(torch.float64) @ w2c[:3, :3].T + w2c[:3, 3]  # (N, 3)
    z = cam[:, 2]
    uv = (cam @ k.to(torch.float64).T)[:, :2] / z.clamp(min=1e-9).unsqueeze(1)  # (N, 2)
    return uv, z


def pixel_rays(pose: torch.Tensor, k: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray origins (P, 3) and unit directions (P, H, W, 3) through pixel centres for
    poses (P, 4, 4) sharing intrinsics (3, 3)."""
    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float64) + 0.5,
                          torch.arange(width, dtype=torch.float64) + 0.5, indexing="ij")
    pix = torch.stack([u, v, torch.ones_like(u)], -1)  # (H, W, 3)
    cam = pix @ torch.linalg.inv(k.to(torch.float64)).T  # (H, W, 3)
    rot = pose[:, :3, :3].to(torch.float64)  # (P, 3, 3)
    dirs = torch.einsum("pij,hwj->phwi", rot, cam)  # (P, H, W, 3)
    dirs = dirs / torch.linalg.vector_norm(dirs, dim=-1, keepdim=True)
    return pose[:, :3, 3].to(torch.float64), dirs
