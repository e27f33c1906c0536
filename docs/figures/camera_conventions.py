"""Draw docs/figures/camera_conventions.png from the loader's own conversion functions.

    python docs/figures/camera_conventions.py

Left: an Unreal camera at X = 200 cm, Y = 100 cm, Z = 150 cm with rotation (roll 0,
pitch 20, yaw 30) in Unreal's left-handed world. Right: the same camera after
``pose_from_unreal``: metres in echodsl's right-handed world (y = -Y) with the OpenCV
camera axes (x right, y down, z forward) the pose matrix's columns hold.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from echodsl.data.cam import pose_from_unreal  # noqa: E402

POSITION_CM, ROTATION_DEG = [200.0, 100.0, 150.0], [0.0, 20.0, 30.0]


def axes3d(ax, labels, flip_y: bool, title: str) -> None:
    for vec, label, colour in zip(([1, 0, 0], [0, 1, 0], [0, 0, 1]), labels, ("tab:red", "tab:green", "tab:blue")):
        v = [vec[0], -vec[1] if flip_y else vec[1], vec[2]]
        ax.quiver(0, 0, 0, *v, color=colour, arrow_length_ratio=0.12, linewidth=2)
        ax.text(*(1.15 * torch.tensor(v, dtype=torch.float64)).tolist(), label, color=colour, fontsize=10)
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-0.5, 3)
    ax.set_ylim(-2, 2)
    ax.set_zlim(0, 2.5)
    ax.set_box_aspect((3.5, 4, 2.5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])


def main() -> None:
    pose = pose_from_unreal(torch.tensor(POSITION_CM), torch.tensor(ROTATION_DEG))  # (4, 4)
    centre = pose[:3, 3]
    fig = plt.figure(figsize=(12, 6))
    # Left: Unreal world. Plotted in echodsl coordinates (y = -Y) so both panels share a
    # view; the Y axis arrow therefore points to the plot's -y.
    left = fig.add_subplot(1, 2, 1, projection="3d")
    axes3d(left, ("X forward", "Y right", "Z up"), True, "Unreal world (left-handed, cm)\n"
           f"camera at {POSITION_CM} cm,\n[roll, pitch, yaw] = {ROTATION_DEG} deg")
    fwd = pose[:3, 2]
    left.quiver(*centre.tolist(), *(0.8 * fwd).tolist(), color="black", linewidth=2, arrow_length_ratio=0.15)
    left.text(*(centre + 0.9 * fwd).tolist(), "view\n(yaw turns X toward Y)", fontsize=8)
    left.scatter(*centre.tolist(), color="black")
    right = fig.add_subplot(1, 2, 2, projection="3d")
    axes3d(right, ("x = X", "y = -Y (left)", "z = Z up"), False, "echodsl world (right-handed, m)\n"
           "pose = camera-to-world [R | t],\ncolumns of R = OpenCV camera x, y, z")
    for col, label, colour in ((0, "cam x right", "tab:red"), (1, "cam y down", "tab:green"),
                               (2, "cam z fwd", "tab:blue")):
        axis = 0.9 * pose[:3, col]
        right.quiver(*centre.tolist(), *axis.tolist(), color=colour, linewidth=2, arrow_length_ratio=0.15)
        right.text(*(centre + 1.25 * axis).tolist(), label, color=colour, fontsize=9)
    right.scatter(*centre.tolist(), color="black")
    right.text(*(centre + torch.tensor([0.3, 0.3, 0.5], dtype=torch.float64)).tolist(),
               f"t = ({centre[0]:.2f}, {centre[1]:.2f}, {centre[2]:.2f}) m", fontsize=8)
    for ax in (left, right):
        ax.view_init(elev=18, azim=-135)
    fig.tight_layout()
    out = Path(__file__).with_suffix(".png")
    fig.savefig(out, dpi=100, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
