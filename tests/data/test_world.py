"""Embedded world: determinism, camera conventions, masks and depth agree with projection."""

from __future__ import annotations

import math

import torch

from echodsl.data.camera import euler_from_pose, look_at, pose_from_euler, project, relative_actions
from echodsl.data.scene import STYLES
from echodsl.data.world import World, WorldConfig


def test_same_seed_same_frames_and_different_seed_differs(world):
    again = World(world.config)
    a, b = world.sequence(1), again.sequence(1)
    assert torch.equal(a.poses, b.poses)
    assert torch.equal(a.frames(list(range(len(a)))), b.frames(list(range(len(b)))))
    other = World(WorldConfig(scenes=3, height=32, width=32, frames_per_scene=24, seed=7))
    assert not torch.equal(a.frames([0, 5]), other.sequence(1).frames([0, 5]))
    assert torch.equal(world.probe(0, "open").frames, again.probe(0, "open").frames)


def test_camera_axes_follow_opencv_in_a_z_up_world():
    zero = torch.tensor(0.0)
    pose = pose_from_euler(torch.zeros(3), zero, zero, zero)
    right, down, forward = pose[:3, 0], pose[:3, 1], pose[:3, 2]
    assert torch.allclose(forward, torch.tensor([1.0, 0, 0], dtype=torch.float64))
    assert torch.allclose(right, torch.tensor([0, -1.0, 0], dtype=torch.float64))
    assert torch.allclose(down, torch.tensor([0, 0, -1.0], dtype=torch.float64))
    assert torch.det(pose[:3, :3]) > 0
    left_turn = pose_from_euler(torch.zeros(3), torch.tensor(math.pi / 2, dtype=torch.float64), zero, zero)
    assert torch.allclose(left_turn[:3, 2], torch.tensor([0, 1.0, 0], dtype=torch.float64), atol=1e-12)
    up = pose_from_euler(torch.zeros(3), zero, torch.tensor(0.3), zero)
    assert up[2, 2] > 0  # pitch up looks up
    cw = pose_from_euler(torch.zeros(3), zero, zero, torch.tensor(0.3))
    assert cw[2, 0] < 0  # positive roll drops the right side


def test_euler_round_trip_and_actions_of_first_frame_are_identity():
    gen = torch.Generator().manual_seed(0)
    yaw, pitch, roll = (torch.rand(20, generator=gen, dtype=torch.float64) - 0.5) * torch.tensor(
        [[6.0], [3.0], [3.0]], dtype=torch.float64)
    poses = pose_from_euler(torch.randn(20, 3, dtype=torch.float64, generator=gen), yaw, pitch, roll)
    y2, p2, r2 = euler_from_pose(poses)
    assert torch.allclose(pose_from_euler(poses[:, :3, 3], y2, p2, r2), poses, atol=1e-12)
    actions = relative_actions(poses)
    assert torch.allclose(actions[0], torch.tensor([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1.0]), atol=1e-6)
    rel = torch.linalg.inv(poses[0]) @ poses[3]
    assert torch.allclose(actions[3, :3].double(), rel[:3, 3], atol=1e-5)
    assert torch.allclose(actions[3, 3:].double(), rel[:3, :3].reshape(9), atol=1e-5)


def _looking_at_each_object(world):
    scene = world.scene(0, "train")
    for obj in scene.objects:
        c = torch.tensor(obj.centre, dtype=torch.float64)
        toward_middle = -c[:2] / torch.linalg.vector_norm(c[:2])
        eye = torch.cat([c[:2] + 1.6 * toward_middle, torch.tensor([1.2], dtype=torch.float64)])
        yield scene, obj, look_at(eye, c)


def test_projected_object_centre_lands_on_its_mask(world):
    for scene, obj, pose in _looking_at_each_object(world):
        out = world.render(scene, pose[None])
        uv, z = project(torch.tensor([obj.centre]), pose, world.intrinsics)
        u, v = int(uv[0, 0]), int(uv[0, 1])
        assert z[0] > 0 and out.ids[0, v, u] == obj.object_id, (obj.shape, u, v)


def test_mask_pixels_back_project_onto_the_object_surface(world):
    k_inv = torch.linalg.inv(world.intrinsics)
    for scene, obj, pose in _looking_at_each_object(world):
        out = world.render(scene, pose[None])
        vs, us = torch.nonzero(out.ids[0] == obj.object_id, as_tuple=True)
        assert len(vs) > 20
        pix = torch.stack([us + 0.5, vs + 0.5, torch.ones_like(us, dtype=torch.float64)], 1)
        cam = (pix.double() @ k_inv.T) * out.depth[0, vs, us, None].double()  # (N, 3)
        world_pts = cam @ pose[:3, :3].T + pose[:3, 3]
        local = (world_pts - torch.tensor(obj.centre, dtype=torch.float64)).abs()
        size = torch.tensor(obj.size, dtype=torch.float64)
        if obj.shape in ("sphere", "ellipsoid"):
            radius = torch.linalg.vector_norm(local / size, dim=1)
            assert torch.allclose(radius, torch.ones_like(radius), atol=1e-3)
        else:  # every surface point is inside the bounding box, some on its boundary
            assert bool((local <= size + 1e-3).all())


def test_open_domain_styles_never_reach_training(world):
    train_styles = {world.scene(i, "train").style for i in range(8)}
    open_styles = {world.scene(i, "open").style for i in range(8)}
    assert all(STYLES[s]["split"] == "in" for s in train_styles)
    assert all(STYLES[s]["split"] == "open" for s in open_styles)
    shapes = {o.shape for i in range(8) for o in world.scene(i, "open").objects}
    assert shapes <= {"cone", "ellipsoid"}


def test_probe_leaves_and_returns_to_its_anchor(world):
    for split in ("in", "open"):
        for i in range(2):
            probe = world.probe(i, split, away_frames=3)
            assert probe.revisit, probe.name
            visible = (probe.ids == probe.anchor_id).flatten(1).any(1)
            assert bool(visible[0]) and all(bool(visible[r]) for r in probe.revisit)
            run = max(len(list(g)) for g in _runs(probe.away))
            assert run >= 3 and min(probe.revisit) > max(probe.away)
            assert torch.allclose(probe.poses[-1], probe.poses[0])


def _runs(indices):
    run = [indices[0]]
    for i in indices[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            yield run
            run = [i]
    yield run


def test_coarse_detail_and_a_standing_camera_are_world_settings(tmp_path):
    import echodsl
    from echodsl.runtime import assemble

    spec = tmp_path / "w.mem"
    spec.write_text("profile a {}\nstudy s {\n data world(scenes = 2, detail = coarse, drift = 0.0)\n"
                    " profiles a\n}\n")
    doc = echodsl.load(spec)
    run = assemble.RunConfig.from_study(doc.study("s"), doc.profile("a"), 0, tmp_path)
    world = assemble.world_of(run)
    coarse, fine = world.scene(0), World(WorldConfig(scenes=2, height=32, width=32)).scene(0)
    assert coarse.panorama.shape[0] == 2 and fine.panorama.shape[0] == 4
    assert coarse.panorama.shape[1] < fine.panorama.shape[1] and coarse.tile > fine.tile
    positions = world.sequence(0).poses[:, :3, 3]  # (T, 3)
    assert torch.equal(positions, positions[:1].expand_as(positions)), "drift = 0: the camera only turns"
    moving = World(WorldConfig(scenes=2, height=32, width=32)).sequence(0).poses[:, :3, 3]
    assert not torch.equal(moving, moving[:1].expand_as(moving))
