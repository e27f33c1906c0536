"""``echodsl data check``: inspect a Context-as-Memory root before spending GPU hours on it.

Every problem is collected (not raised), each naming its file, so one run shows them all.
Errors: missing/corrupt PNGs, unreadable or gapped camera JSONs, non-finite poses, frame
count mismatches, malformed labels, windows outside their sequence. Warnings: missing
captions or labels, sequences shorter than a window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from echodsl.data import cam
from echodsl.data.camera import euler_from_pose
from echodsl.data.export import LABEL_THRESHOLD
from echodsl.data.retriever import overlap_labels
from echodsl.errors import DataError

FORMAT_VERSION = "1.0"


@dataclass
class Problem:
    severity: str  # "error" | "warning"
    path: str
    message: str


@dataclass
class SequenceReport:
    name: str
    frames: int
    windows: int
    size: tuple[int, int] | None = None  # (height, width)
    position_min: list[float] | None = None  # metres, loader world frame
    position_max: list[float] | None = None
    yaw_pitch_roll_min: list[float] | None = None  # degrees
    yaw_pitch_roll_max: list[float] | None = None
    label_agreement: float | None = None  # mean Jaccard of stored vs retriever overlap
    poses: list | None = None  # per frame 4x4 camera-to-world (--poses)


@dataclass
class CheckReport:
    root: str
    sequences: list[SequenceReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def label_agreement(self) -> float | None:
        vals = [s.label_agreement for s in self.sequences if s.label_agreement is not None]
        return sum(vals) / len(vals) if vals else None

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION, "root": self.root, "ok": self.ok,
            "sequence_count": len(self.sequences),
            "frame_count": sum(s.frames for s in self.sequences),
            "window_count": sum(s.windows for s in self.sequences),
            "error_count": len(self.errors), "warning_count": len(self.problems) - len(self.errors),
            "label_agreement": self.label_agreement,
            "sequences": [{k: v for k, v in vars(s).items() if v is not None or k != "poses"}
                          for s in self.sequences],
            "problems": [vars(p) for p in self.problems],
        }


def check_dataset(root: str | os.PathLike, *, poses: bool = False, fov_deg: float = 90.0,
                  label_frames: int = 16, depth_range: tuple[float, float] = (0.3, 6.0),
                  progress: bool = False) -> CheckReport:
    """Read every sequence under ``root`` and report what is there and what is wrong.

    Label agreement compares stored overlap labels of up to ``label_frames`` frames per
    sequence with the retriever's own overlap (threshold as in export) by Jaccard index."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory: {root}")
    report = CheckReport(str(root))
    if not (root / "jsons").is_dir():
        report.problems.append(Problem("error", str(root / "jsons"), "no jsons/ folder: not a Context-as-Memory root"))
        return report
    captions = cam.read_captions(root)
    if not captions:
        report.problems.append(Problem("warning", str(root / "captions.txt"), "no captions"))
    windows = _windows(root, report)
    names = cam.list_sequences(root)
    for name in tqdm(names, desc="check", disable=not progress, leave=False):
        seq = _check_sequence(root, name, report, fov_deg, poses)
        if seq is None:
            continue
        seq.windows = sum(1 for n, _, _ in windows if n == name)
        for n, s, e in windows:
            if n == name and not 0 <= s <= e < seq.frames:
                report.problems.append(Problem("error", str(root / cam.METADATA),
                                               f"window {s}-{e} outside {name} ({seq.frames} frames)"))
        if seq.frames < 81:
            report.problems.append(Problem("warning", str(cam.json_path(root, name)),
                                           f"{seq.frames} frames: shorter than one 81-frame window"))
        if name not in captions and captions:
            report.problems.append(Problem("warning", str(root / "captions.txt"), f"no caption for {name}"))
        report.sequences.append(seq)
        _check_labels(root, name, seq, report, fov_deg, label_frames, depth_range)
    for n in sorted({n for n, _, _ in windows} - set(names)):
        report.problems.append(Problem("error", str(root / cam.METADATA), f"window names unknown sequence {n}"))
    return report


def _windows(root: Path, report: CheckReport) -> list[tuple[str, int, int]]:
    try:
        return cam.read_windows(root)
    except DataError as exc:
        report.problems.append(Problem("warning" if "missing" in exc.message else "error", exc.path, exc.message))
        return []


def _check_sequence(root: Path, name: str, report: CheckReport, fov_deg: float,
                    want_poses: bool) -> SequenceReport | None:
    try:
        poses, _ = cam.read_camera_json(cam.json_path(root, name))
    except DataError as exc:
        report.problems.append(Problem("error", exc.path, exc.message))
        return None
    seq = SequenceReport(name, len(poses), 0)
    folder = root / "frames" / name
    pngs = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if len(pngs) != len(poses):
        report.problems.append(Problem("error", str(folder), f"{len(pngs)} PNGs for {len(poses)} camera frames"))
    sizes = set()
    for i in range(len(poses)):
        path = cam.frame_path(root, name, i)
        try:
            sizes.add(tuple(cam.read_frame(path).shape[1:]))
        except DataError as exc:
            report.problems.append(Problem("error", exc.path, exc.message))
    if len(sizes) > 1:
        report.problems.append(Problem("error", str(folder), f"frames differ in size: {sorted(sizes)}"))
    seq.size = next(iter(sizes)) if len(sizes) == 1 else None
    t = poses[:, :3, 3]
    angles = torch.rad2deg(torch.stack(euler_from_pose(poses), 1))  # (T, 3)
    seq.position_min, seq.position_max = t.min(0).values.tolist(), t.max(0).values.tolist()
    seq.yaw_pitch_roll_min, seq.yaw_pitch_roll_max = angles.min(0).values.tolist(), angles.max(0).values.tolist()
    if want_poses:
        seq.poses = poses.tolist()
    return seq


def _check_labels(root: Path, name: str, seq: SequenceReport, report: CheckReport, fov_deg: float,
                  label_frames: int, depth_range: tuple[float, float]) -> None:
    try:
        labels = cam.read_overlap_labels(root, name)
    except DataError as exc:
        report.problems.append(Problem("error", exc.path, exc.message))
        return
    if not labels:
        report.problems.append(Problem("warning", str(root / "overlap_labels" / name), "no overlap labels"))
        return
    bad = [f for f, others in labels.items() if not 0 <= f < seq.frames or any(not 0 <= o < seq.frames for o in others)]
    if bad:
        report.problems.append(Problem("error", str(root / "overlap_labels" / name),
                                       f"labels name frames outside 0..{seq.frames - 1} (frame {bad[0]})"))
        return
    if seq.size is None:
        return
    try:
        s = cam.read_sequence(root, name, cam.CamConfig(fov_deg=fov_deg))
    except DataError:
        return  # already reported
    frames = sorted(labels)
    step = max(1, len(frames) // label_frames)
    frames = frames[::step][:label_frames]
    ours = overlap_labels(s.poses, s.intrinsics, s.height, s.width, frames=frames,
                          threshold=LABEL_THRESHOLD, depth_range=depth_range)
    scores = []
    for f in frames:
        a, b = set(labels[f]), set(ours[f])
        scores.append(1.0 if not (a | b) else len(a & b) / len(a | b))
    seq.label_agreement = sum(scores) / len(scores)


def render_text(report: CheckReport) -> str:
    """Human-readable summary: one line per sequence, then problems, then totals."""
    d = report.to_dict()
    lines = []
    for s in report.sequences:
        agree = f"  labels {s.label_agreement:.2f}" if s.label_agreement is not None else ""
        pos = " ".join(f"[{a:.2f},{b:.2f}]" for a, b in zip(s.position_min or [], s.position_max or []))
        lines.append(f"{s.name}: {s.frames} frames, {s.windows} windows, xyz {pos}{agree}")
        for i, m in enumerate(s.poses or []):
            lines.append(f"  {i:04d} " + " ".join(f"{v:+.5f}" for row in m[:3] for v in row))
    for p in report.problems:
        lines.append(f"{p.severity}: {p.path}: {p.message}")
    agree = "n/a" if d["label_agreement"] is None else f"{d['label_agreement']:.3f}"
    lines.append(f"{d['sequence_count']} sequences, {d['frame_count']} frames, {d['window_count']} windows, "
                 f"{d['error_count']} errors, {d['warning_count']} warnings, label agreement {agree}")
    return "\n".join(lines)
