"""Analytic ray casting of a :class:`~echodsl.data.scene.Scene` in torch.

Every pixel's ray is intersected in closed form with the room's six planes and each
anchor object (box, sphere, cylinder, cone, ellipsoid); the nearest hit wins. There is no
anti-aliasing, so a pixel shows exactly what its centre ray hits, which makes the object
id masks and depths exact and the projection tests strict.

Letters: P poses (frames), H/W pixels, R = P*H*W rays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from echodsl.data.camera import pixel_rays
from echodsl.data.scene import Scene, SceneObject

_LIGHT = torch.tensor([0.35, 0.25, 0.9]) / math.sqrt(0.35**2 + 0.25**2 + 0.9**2)
_INF = float("inf")


@dataclass(frozen=True)
class Rendered:
    """Frames of one camera path: RGB uint8, object ids (0 = room) and z-depth (metres)."""

    rgb: torch.Tensor  # (P, 3, H, W) uint8
    ids: torch.Tensor  # (P, H, W) int64
    depth: torch.Tensor  # (P, H, W) float32, distance along the camera's forward axis


def render(scene: Scene, poses: torch.Tensor, k: torch.Tensor, height: int, width: int) -> Rendered:
    """Render ``poses`` (P, 4, 4) camera-to-world with intrinsics ``k`` (3, 3)."""
    origin, dirs = pixel_rays(poses, k, height, width)  # (P, 3), (P, H, W, 3)
    p = poses.shape[0]
    o = origin.float()[:, None, None, :].expand(p, height, width, 3).reshape(-1, 3)  # (R, 3)
    d = dirs.float().reshape(-1, 3)  # (R, 3)
    t, normal, colour = _room(scene, o, d)  # (R,), (R, 3), (R, 3)
    ids = torch.zeros_like(t, dtype=torch.int64)
    for obj in scene.objects:
        t_obj, n_obj = _intersect(obj, o, d)
        hit = t_obj < t
        if not bool(hit.any()):
            continue
        t = torch.where(hit, t_obj, t)
        normal = torch.where(hit[:, None], n_obj, normal)
        local = o[hit] + t_obj[hit, None] * d[hit] - torch.tensor(obj.centre)
        colour[hit] = _pattern(obj, local)
        ids[hit] = obj.object_id
    shade = 0.55 + 0.45 * (normal @ _LIGHT).abs()  # (R,): two-sided so walls never go black
    rgb = (colour * shade[:, None]).clamp(0, 1)
    rgb = (rgb * 255).round().to(torch.uint8).reshape(p, height, width, 3).permute(0, 3, 1, 2)
    forward = poses[:, :3, 2].float()  # (P, 3)
    cos = (dirs.float() * forward[:, None, None, :]).sum(-1)  # (P, H, W)
    depth = t.reshape(p, height, width) * cos
    return Rendered(rgb.contiguous(), ids.reshape(p, height, width), depth)


def _room(scene: Scene, o: torch.Tensor, d: torch.Tensor):
    """Exit point of each ray from the room box (the camera is inside it)."""
    lo = torch.tensor([-scene.half_x, -scene.half_y, 0.0])
    hi = torch.tensor([scene.half_x, scene.half_y, scene.height])
    safe = torch.where(d.abs() < 1e-9, torch.full_like(d, 1e-9), d)
    t_axes = torch.where(d > 0, (hi - o) / safe, (lo - o) / safe)  # (R, 3)
    t, axis = t_axes.min(dim=1)  # (R,)
    p = o + t[:, None] * d
    normal = torch.zeros_like(d)
    normal.scatter_(1, axis[:, None], -torch.sign(d.gather(1, axis[:, None])))
    colour = torch.empty_like(d)
    wall = axis < 2
    colour[wall] = _walls(scene, p[wall])
    floor = (axis == 2) & (d[:, 2] < 0)
    cell = (torch.floor(p[floor, 0] / scene.tile) + torch.floor(p[floor, 1] / scene.tile)) % 2
    c0, c1 = torch.tensor(scene.floor[0]), torch.tensor(scene.floor[1])
    colour[floor] = torch.where(cell[:, None] > 0, c1, c0)
    ceiling = (axis == 2) & (d[:, 2] >= 0)
    colour[ceiling] = torch.tensor(scene.ceiling)
    return t, normal, colour


def _walls(scene: Scene, p: torch.Tensor) -> torch.Tensor:
    """Colour of wall points (N, 3) looked up in the panorama by perimeter position."""
    hx, hy = scene.half_x, scene.half_y
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    # Perimeter coordinate, counter-clockwise from the corner (hx, -hy).
    east, north, west = x >= hx - 1e-4, y >= hy - 1e-4, x <= -hx + 1e-4
    s = torch.where(east, y + hy, torch.where(
        north, 2 * hy + (hx - x), torch.where(west, 2 * hy + 2 * hx + (hy - y), 4 * hy + 2 * hx + (x + hx))))
    rows, cols, _ = scene.panorama.shape
    u = s / (4 * (hx + hy)) * cols
    v = (1.0 - z / scene.height) * rows
    ci = u.floor().long().clamp(0, cols - 1)
    ri = v.floor().long().clamp(0, rows - 1)
    colour = scene.panorama[ri, ci]  # (N, 3)
    if scene.wall_style == "tiles":
        # Dark grout lines at block edges: an open-domain texture never seen in training.
        fu, fv = u - u.floor(), v - v.floor()
        grout = (fu < 0.08) | (fu > 0.92) | (fv < 0.08) | (fv > 0.92)
        colour = torch.where(grout[:, None], colour * 0.25, colour)
    return colour


def _pattern(obj: SceneObject, local: torch.Tensor) -> torch.Tensor:
    """Surface colour (N, 3) of an object at points ``local`` (N, 3) relative to its centre."""
    c1, c2 = torch.tensor(obj.colour), torch.tensor(obj.colour2)
    scale = 1.0 / max(obj.size)
    q = local * scale  # roughly in [-1, 1]
    if obj.pattern == "stripes":
        second = torch.floor(q[:, 2] * 3.0) % 2 > 0
    elif obj.pattern == "checker":
        az = torch.atan2(q[:, 1], q[:, 0])
        second = (torch.floor(az / (math.pi / 3)) + torch.floor(q[:, 2] * 2.5)) % 2 > 0
    elif obj.pattern == "rings":
        second = torch.floor(torch.linalg.vector_norm(q, dim=1) * 4.0) % 2 > 0
    elif obj.pattern == "dots":
        cell = q * 3.0
        second = torch.linalg.vector_norm(cell - cell.round(), dim=1) < 0.3
    else:
        second = torch.zeros(q.shape[0], dtype=torch.bool)
    return torch.where(second[:, None], c2, c1)


def _intersect(obj: SceneObject, o: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest positive hit distance (R,) (inf for a miss) and outward normal (R, 3)."""
    c = torch.tensor(obj.centre)
    s = torch.tensor(obj.size)
    oc = o - c
    if obj.shape in ("sphere", "ellipsoid"):
        os_, ds = oc / s, d / s
        a = (ds * ds).sum(1)
        b = 2 * (os_ * ds).sum(1)
        cc = (os_ * os_).sum(1) - 1
        disc = b * b - 4 * a * cc
        t = (-b - disc.clamp(min=0).sqrt()) / (2 * a)
        t = torch.where((disc >= 0) & (t > 1e-4), t, torch.full_like(t, _INF))
        n = (oc + t.clamp(max=1e6)[:, None] * d) / (s * s)
        return t, n / torch.linalg.vector_norm(n, dim=1, keepdim=True).clamp(min=1e-9)
    if obj.shape == "box":
        safe = torch.where(d.abs() < 1e-9, torch.full_like(d, 1e-9), d)
        t1, t2 = (-s - oc) / safe, (s - oc) / safe
        tmin, tmax = torch.minimum(t1, t2), torch.maximum(t1, t2)
        t_near, axis = tmin.max(dim=1)
        t_far = tmax.min(dim=1).values
        t = torch.where((t_near <= t_far) & (t_near > 1e-4), t_near, torch.full_like(t_near, _INF))
        n = torch.zeros_like(d)
        n.scatter_(1, axis[:, None], -torch.sign(d.gather(1, axis[:, None])))
        return t, n
    return _vertical_solid(obj, oc, d)


def _vertical_solid(obj: SceneObject, oc: torch.Tensor, d: torch.Tensor):
    """Cylinder or cone (apex up) standing on its base: side surface plus the caps."""
    r, hh = obj.size[0], obj.size[2]
    ox, oy, oz = oc[:, 0], oc[:, 1], oc[:, 2]
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    if obj.shape == "cylinder":
        a, b, cc = dx * dx + dy * dy, 2 * (ox * dx + oy * dy), ox * ox + oy * oy - r * r
    else:
        # x^2 + y^2 = (r / 2h)^2 (h - z)^2, apex at z = +h (local), base radius r at z = -h.
        kk = (r / (2 * hh)) ** 2
        e = hh - oz
        a = dx * dx + dy * dy - kk * dz * dz
        b = 2 * (ox * dx + oy * dy + kk * e * dz)
        cc = ox * ox + oy * oy - kk * e * e
    disc = b * b - 4 * a * cc
    sq = disc.clamp(min=0).sqrt()
    safe_a = torch.where(a.abs() < 1e-9, torch.full_like(a, 1e-9), a)
    best = torch.full_like(ox, _INF)
    for root in ((-b - sq) / (2 * safe_a), (-b + sq) / (2 * safe_a)):
        z = oz + root * dz
        ok = (disc >= 0) & (root > 1e-4) & (z >= -hh) & (z <= hh)
        best = torch.where(ok & (root < best), root, best)
    side_t = best
    caps = [(-hh, r)] + ([(hh, r)] if obj.shape == "cylinder" else [])
    cap_hit = torch.zeros_like(ox, dtype=torch.bool)
    safe_dz = torch.where(dz.abs() < 1e-9, torch.full_like(dz, 1e-9), dz)
    for zc, rc in caps:
        t = (zc - oz) / safe_dz
        px, py = ox + t * dx, oy + t * dy
        ok = (t > 1e-4) & (px * px + py * py <= rc * rc) & (t < best)
        best = torch.where(ok, t, best)
        cap_hit = torch.where(ok, torch.ones_like(cap_hit), cap_hit & ~ok)
    p = oc + best.clamp(max=1e6)[:, None] * d
    if obj.shape == "cylinder":
        side_n = torch.stack([p[:, 0], p[:, 1], torch.zeros_like(ox)], 1)
    else:
        rad = torch.linalg.vector_norm(p[:, :2], dim=1)
        side_n = torch.stack([p[:, 0], p[:, 1], rad * r / (2 * hh)], 1)
    cap_n = torch.stack([torch.zeros_like(ox), torch.zeros_like(ox), torch.sign(p[:, 2])], 1)
    n = torch.where(cap_hit[:, None] & (best < side_t)[:, None], cap_n, side_n)
    return best, n / torch.linalg.vector_norm(n, dim=1, keepdim=True).clamp(min=1e-9)
