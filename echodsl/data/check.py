"""``echodsl data check``: inspect a Context-as-Memory root before spending GPU hours on it.

Every problem is collected (not raised), each naming its file, so one run shows them all.
The tree is read one sequence at a time (nothing is held but a sequence's poses), every
PNG's header and chunk checksums are verified without decoding pixels, and a progress bar
counts files per second.

Errors: missing/corrupt/oversized PNGs, unreadable or gapped camera JSONs, non-finite or
mistyped poses, frame count mismatches, malformed labels or captions, windows outside
their sequence or whose ``video`` cell names other frames. Warnings: missing captions or
labels, two label files for one frame, sequences shorter than a window, a window prompt
that differs from ``captions.txt``.

Retrieval: for the retriever a profile selects (``fov`` with its samples and recency, its
K = k - 1 memory frames), each checked frame's top-K past frames are compared with the
dataset's overlap labels (restricted to past frames): precision = labelled share of the
picks, recall = picked share of the labelled past frames, at most K of them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from echodsl.data import cam, index
from echodsl.data.camera import euler_from_pose, intrinsics_from_fov
from echodsl.data.retriever import NEAR_M, select_memory
from echodsl.errors import DataError, UsageError
from echodsl.jsonout import DATA_CHECK_FORMAT_VERSION, envelope
from echodsl.families import family_of
from echodsl.presets import backbone_config


@dataclass(frozen=True)
class RetrievalCheck:
    """The retriever to score against the labels: fov with ``samples``/``recency``, top ``k``."""

    k: int = 19  # memory frames retrieved (a profile's storage k, anchor excluded)
    samples: int = 512
    recency: float = 0.0
    key: str = "middle"  # one labelled frame is the key either way
    overlap: str = "symmetric"
    frames: int = 16  # labelled frames checked per sequence, evenly spaced
    depth_range: tuple[float, float] = (0.3, 3.0)  # the language's fov(far = 3)
    source: str = "default"  # where k/samples/recency came from

    @classmethod
    def from_profile(cls, profile, **kw) -> "RetrievalCheck":
        """From a resolved profile whose storage retrieves by ``select = fov(...)`` (every
        storage family does by default): its family's own lowering says what it retrieves."""
        storage = family_of(profile.storage.variant).lower(profile, backbone_config("tiny"))
        if storage.select != "fov" or not storage.memory_frames:
            raise UsageError(f"profile {profile.name} does not retrieve frames by fov",
                             hint="pick a profile whose storage has select = fov(...) (the default)")
        return cls(k=storage.memory_frames, samples=storage.samples, recency=storage.recency,
                   key=storage.key, overlap=storage.overlap, depth_range=(NEAR_M, storage.far),
                   source=f"profile {profile.name}", **kw)


@dataclass
class Problem:
    severity: str  # "error" | "warning"
    path: str
    message: str


@dataclass
class Retrieval:
    """Counts behind precision/recall@K over the checked frames of one sequence (or all)."""

    frames: int = 0
    picked: int = 0
    hits: int = 0
    reachable: int = 0  # sum over frames of min(K, labelled past frames)

    @property
    def precision(self) -> float | None:
        return self.hits / self.picked if self.picked else None

    @property
    def recall(self) -> float | None:
        return self.hits / self.reachable if self.reachable else None

    def add(self, other: "Retrieval") -> None:
        self.frames += other.frames
        self.picked += other.picked
        self.hits += other.hits
        self.reachable += other.reachable

    def to_dict(self) -> dict:
        return {"frames": self.frames, "precision": self.precision, "recall": self.recall}


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
    caption: str | None = None
    retrieval: Retrieval | None = None
    poses: list | None = None  # per frame 4x4 camera-to-world (--poses)

    def to_dict(self) -> dict:
        out = {k: v for k, v in vars(self).items() if k not in ("poses", "retrieval")}
        out["retrieval"] = self.retrieval.to_dict() if self.retrieval else None
        if self.poses is not None:
            out["poses"] = self.poses
        return out


MEANING = ("precision: share of the retriever's top-K past frames that the dataset labels as "
           "overlapping (low: it fills memory with frames the labels say show something else; "
           "check the FOV, depth range and camera convention). recall: share of the labelled "
           "overlapping past frames, at most K per frame, that it retrieved (low: it misses "
           "frames the labels would give; more samples or less recency may help).")


@dataclass
class CheckReport:
    root: str
    retrieval_config: RetrievalCheck = field(default_factory=RetrievalCheck)
    sequences: list[SequenceReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    windows_source: str = "derived"  # "metadata_full.csv" | "derived"
    files: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def retrieval(self) -> Retrieval:
        total = Retrieval()
        for s in self.sequences:
            if s.retrieval:
                total.add(s.retrieval)
        return total

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0

    def add(self, severity: str, path, message: str) -> None:
        self.problems.append(Problem(severity, str(path), message))

    def to_dict(self) -> dict:
        rc = self.retrieval_config
        return envelope({
            "root": self.root, "ok": self.ok,
            "sequence_count": len(self.sequences),
            "frame_count": sum(s.frames for s in self.sequences),
            "window_count": sum(s.windows for s in self.sequences),
            "windows_source": self.windows_source,
            "error_count": len(self.errors), "warning_count": len(self.problems) - len(self.errors),
            "files_checked": self.files, "seconds": round(self.seconds, 3),
            "files_per_second": round(self.files_per_second, 1),
            "retrieval": {"select": "fov", "k": rc.k, "samples": rc.samples, "recency": rc.recency,
                          "key": rc.key, "overlap": rc.overlap, "far": rc.depth_range[1],
                          "from": rc.source, **self.retrieval.to_dict(), "meaning": MEANING},
            "sequences": [s.to_dict() for s in self.sequences],
            "problems": [vars(p) for p in self.problems],
        }, version=DATA_CHECK_FORMAT_VERSION)


def check_dataset(root: str | os.PathLike, *, poses: bool = False, fov_deg: float = 90.0,
                  retrieval: RetrievalCheck | None = None, progress: bool = False) -> CheckReport:
    """Read every sequence under ``root`` and report what is there and what is wrong."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory: {root}")
    report = CheckReport(str(root), retrieval or RetrievalCheck())
    if not (root / "jsons").is_dir():
        report.add("error", root / "jsons", "no jsons/ folder: not a Context-as-Memory root")
        return report
    start = time.perf_counter()
    captions = _captions(root, report)
    windows = _windows(root, report)
    names = cam.list_sequences(root)
    bar = tqdm(total=0, desc="check", unit="file", disable=not progress, leave=False, dynamic_ncols=True)
    try:
        for name in names:
            bar.set_postfix_str(name, refresh=False)
            checked = _check_sequence(root, name, report, poses, bar)
            if checked is None:
                continue
            seq, seq_poses, fov = checked
            seq.caption = captions.get(name)
            if name not in captions:
                report.add("warning", root / cam.CAPTIONS, f"no caption for {name}")
            _check_windows(root, seq, windows.get(name, []), captions.get(name), report)
            report.sequences.append(seq)
            _check_labels(root, seq, seq_poses, report, fov if fov is not None else fov_deg)
    finally:
        bar.close()
    for n in sorted(set(windows) - set(names)):
        report.add("error", root / index.METADATA, f"windows name unknown scene {n}")
    report.seconds = time.perf_counter() - start
    return report


def _captions(root: Path, report: CheckReport) -> dict[str, str]:
    if not (root / cam.CAPTIONS).exists():
        report.add("warning", root / cam.CAPTIONS, "no captions.txt: every scene gets an empty caption")
        return {}
    try:
        return cam.read_captions(root)
    except DataError as exc:
        report.add("error", exc.path, exc.message)
        return {}


def _windows(root: Path, report: CheckReport) -> dict[str, list[index.Window]]:
    """Rows of metadata_full.csv by scene; none (and no problem) if the file is absent,
    since the dataset does not ship it and the same windows are derived."""
    out: dict[str, list[index.Window]] = {}
    if not (root / index.METADATA).exists():
        report.windows_source = "derived"
        return out
    report.windows_source = index.METADATA
    try:
        rows = index.read_index(root)
    except DataError as exc:
        report.add("error", exc.path, exc.message)
        return out
    for w in rows:
        out.setdefault(w.video_name, []).append(w)
    return out


def _check_sequence(root: Path, name: str, report: CheckReport, want_poses: bool,
                    bar) -> tuple[SequenceReport, torch.Tensor, float | None] | None:
    """The sequence's report, its poses (T, 4, 4) and the FOV its JSON records (or None)."""
    try:
        poses, meta = cam.read_camera_json(cam.json_path(root, name))
    except DataError as exc:
        report.add("error", exc.path, exc.message)
        return None
    seq = SequenceReport(name, len(poses), 0)
    folder = root / "frames" / name
    present = cam.frame_files(root, name)
    pngs = sum(1 for n in present if n.endswith(".png"))
    if pngs != len(poses):
        report.add("error", folder, f"{pngs} PNGs for {len(poses)} camera frames")
    bar.total += len(poses)
    bar.refresh()
    sizes = set()
    for i in range(len(poses)):
        path = cam.frame_path(root, name, i)
        try:
            if cam.frame_name(i) not in present:
                raise DataError("frame is missing", str(path))
            sizes.add(cam.frame_size(path, verify=True))
        except DataError as exc:
            report.add("error", exc.path, exc.message)
        report.files += 1
        bar.update(1)
    if len(sizes) > 1:
        report.add("error", folder, f"frames differ in size: {sorted(sizes)}")
    seq.size = next(iter(sizes)) if len(sizes) == 1 else None
    t = poses[:, :3, 3]
    angles = torch.rad2deg(torch.stack(euler_from_pose(poses), 1))  # (T, 3)
    seq.position_min, seq.position_max = t.min(0).values.tolist(), t.max(0).values.tolist()
    seq.yaw_pitch_roll_min, seq.yaw_pitch_roll_max = angles.min(0).values.tolist(), angles.max(0).values.tolist()
    seq.poses = poses.tolist() if want_poses else None
    return seq, poses, meta.get("fov_deg")


def _check_windows(root: Path, seq: SequenceReport, rows: list[index.Window], caption: str | None,
                   report: CheckReport) -> None:
    if report.windows_source == "derived":
        seq.windows = len(index.window_starts(seq.frames))
    else:
        seq.windows = len(rows)
        csv_path = root / index.METADATA
        names = index.scene_png_names(root, seq.name)
        prompts = set()
        for w in rows:
            if not 0 <= w.start_frame <= w.end_frame < seq.frames:
                report.add("error", csv_path, f"window {w.start_frame}-{w.end_frame} outside {seq.name} "
                           f"({seq.frames} frames)")
                continue
            expect = [f"{seq.name}/{n}" for n in names[w.start_frame : w.end_frame + 1]]
            if w.frame_paths() != expect:
                report.add("error", csv_path, f"window {seq.name} {w.start_frame}-{w.end_frame}: video cell "
                           f"does not list frames {w.start_frame}..{w.end_frame} of frames/{seq.name}")
            prompts.add(w.prompt)
        if caption is not None and prompts - {caption}:
            report.add("warning", csv_path, f"{seq.name}: prompt in metadata_full.csv differs from "
                       f"captions.txt; echodsl uses captions.txt's ({caption[:40]!r})")
    if seq.frames < index.WINDOW:
        report.add("warning", cam.json_path(root, seq.name),
                   f"{seq.frames} frames: shorter than one {index.WINDOW}-frame window")


def _check_labels(root: Path, seq: SequenceReport, poses: torch.Tensor, report: CheckReport,
                  fov_deg: float) -> None:
    files = cam.label_files(root, seq.name)
    if not files:
        report.add("warning", cam.labels_dir(root, seq.name), "no overlap labels")
        return
    labels: dict[int, list[int]] = {}
    for f, paths in sorted(files.items()):
        if len(paths) > 1:
            report.add("warning", paths[1], f"also names frame {f}; using {paths[0].name}")
        try:
            others = cam.read_label_file(paths[0], f)
        except DataError as exc:
            report.add("error", exc.path, exc.message)
            continue
        outside = [o for o in [f, *others] if not 0 <= o < seq.frames]
        if outside:
            report.add("error", paths[0], f"names frame {outside[0]} outside 0..{seq.frames - 1}")
            continue
        labels[f] = others
    if seq.size is None or report.retrieval_config.k <= 0:
        return
    seq.retrieval = _retrieval(seq, poses, labels, report.retrieval_config, fov_deg)


def _retrieval(seq: SequenceReport, poses: torch.Tensor, labels: dict[int, list[int]],
               rc: RetrievalCheck, fov_deg: float) -> Retrieval:
    """Top-K fov picks among frames 0..f-1 vs the labelled past frames, for up to
    ``rc.frames`` labelled frames f spread over the sequence."""
    h, w = seq.size
    k = intrinsics_from_fov(w, h, float(fov_deg))
    candidates = [f for f in sorted(labels) if f > 0]
    step = max(1, len(candidates) // max(rc.frames, 1))
    out = Retrieval()
    for f in candidates[::step][: rc.frames]:
        past = {o for o in labels[f] if o < f}
        picks = select_memory("fov", rc.k, poses[:f], poses[f : f + 1], k, h, w, samples=rc.samples,
                              recency=rc.recency, key=rc.key, overlap=rc.overlap, depth_range=rc.depth_range,
                              seed=f)
        out.frames += 1
        out.picked += len(picks)
        out.hits += len(past.intersection(picks))
        out.reachable += min(rc.k, len(past))
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


FIRST_FILES = 3  # files named on a grouped problem's line


def grouped_problems(problems: list[Problem]) -> list[str]:
    """One line per problem, except that the same message about several files is one line
    with the count and the first few files (483 identical label errors must not bury the
    one different one). Lines keep the order in which each message first appeared."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in problems:
        groups.setdefault((p.severity, p.message), []).append(p.path)
    lines = []
    for (severity, message), paths in groups.items():
        if len(paths) == 1:
            lines.append(f"{severity}: {paths[0]}: {message}")
        else:
            more = ", ..." if len(paths) > FIRST_FILES else ""
            lines.append(f"{severity}: {message} ({len(paths)} files: {', '.join(paths[:FIRST_FILES])}{more})")
    return lines


def render_text(report: CheckReport) -> str:
    """Human-readable summary: one line per sequence, then problems, then totals."""
    d = report.to_dict()
    rc = report.retrieval_config
    lines = []
    for s in report.sequences:
        r = s.retrieval
        ret = f", retrieval P {_pct(r.precision)} R {_pct(r.recall)} ({r.frames} frames)" if r else ""
        pos = " ".join(f"[{a:.2f},{b:.2f}]" for a, b in zip(s.position_min or [], s.position_max or []))
        lines.append(f"{s.name}: {s.frames} frames, {s.windows} windows, xyz {pos}{ret}")
        for i, m in enumerate(s.poses or []):
            lines.append(f"  {i:04d} " + " ".join(f"{v:+.5f}" for row in m[:3] for v in row))
    lines += grouped_problems(report.problems)
    total = report.retrieval
    lines.append(f"retrieval fov(samples = {rc.samples}, recency = {rc.recency}, key = {rc.key}, "
                 f"overlap = {rc.overlap}, far = {rc.depth_range[1]}) top-{rc.k} ({rc.source}) vs "
                 f"overlap labels over {total.frames} frames: precision {_pct(total.precision)}, "
                 f"recall {_pct(total.recall)}")
    lines.append("  " + MEANING)
    lines.append(f"{d['sequence_count']} sequences, {d['frame_count']} frames, {d['window_count']} windows "
                 f"({report.windows_source}), {d['files_checked']} files in {report.seconds:.1f} s "
                 f"({report.files_per_second:.0f} files/s), {d['error_count']} errors, {d['warning_count']} warnings")
    return "\n".join(lines)
