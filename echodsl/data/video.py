"""MP4 in and out through PyAV (the ``video`` extra), which ships FFmpeg and its H.264
encoder inside its wheel: no system codec is needed. Frames are (T, 3, H, W) uint8 RGB."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from echodsl.errors import DataError, UsageError

FPS = 24  # MIND's frame rate
# Refuse absurd frame sizes before decoding (a forged header must not allocate gigabytes).
MAX_VIDEO_PIXELS = 8192 * 8192


def _av():
    try:
        import av
    except ImportError:
        raise UsageError("reading or writing mp4 needs PyAV", hint='pip install "echodsl[video]"') from None
    return av


def write_video(path: str | os.PathLike, frames: torch.Tensor, fps: int = FPS) -> None:
    """Encode frames (T, 3, H, W) uint8 as H.264 (yuv420p, so H and W are padded to even
    sizes by repeating the last row/column) at ``fps``; every frame is kept."""
    av = _av()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = frames.permute(0, 2, 3, 1).contiguous().numpy()  # (T, H, W, 3)
    h, w = arr.shape[1:3]
    arr = np.pad(arr, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = arr.shape[2], arr.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12"}
        for image in arr:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_video(path: str | os.PathLike, indices: list[int] | None = None,
               size: tuple[int, int] | None = None) -> torch.Tensor:
    """Decode frames (N, 3, H, W) uint8 at ``indices`` (default all), resized to ``size`` =
    (height, width) if given. Decoding stops after the last requested frame."""
    av = _av()
    want = None if indices is None else sorted(set(indices))
    last = None if want is None else (want[-1] if want else -1)
    got: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.width * stream.height > MAX_VIDEO_PIXELS:
                raise DataError(f"video is {stream.width}x{stream.height} pixels; above {MAX_VIDEO_PIXELS} "
                                "pixels is refused", str(path))
            for i, frame in enumerate(container.decode(stream)):
                if last is not None and i > last:
                    break
                if want is None or i in want:
                    if size is not None:
                        frame = frame.reformat(width=size[1], height=size[0])
                    got[i] = frame.to_ndarray(format="rgb24")
    except FileNotFoundError:
        raise DataError("video is missing", str(path)) from None
    except (av.error.FFmpegError, IndexError) as exc:
        raise DataError(f"cannot decode video ({exc})", str(path)) from None
    order = list(range(len(got))) if indices is None else list(indices)
    missing = [i for i in order if i not in got]
    if missing:
        raise DataError(f"video has {len(got) if indices is None else 'fewer'} frames; frame {missing[0]} "
                        "requested", str(path))
    if not order:
        return torch.zeros(0, 3, *(size or (0, 0)), dtype=torch.uint8)
    return torch.from_numpy(np.stack([got[i] for i in order])).permute(0, 3, 1, 2).contiguous()


def count_frames(path: str | os.PathLike) -> int:
    """Frames in a video, by decoding it (container metadata is not trusted)."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            return sum(1 for _ in container.decode(video=0))
    except FileNotFoundError:
        raise DataError("video is missing", str(path)) from None
    except av.error.FFmpegError as exc:
        raise DataError(f"cannot decode video ({exc})", str(path)) from None


def video_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of a video's first stream, from its header (nothing decoded)."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return int(stream.height), int(stream.width)
    except FileNotFoundError:
        raise DataError("video is missing", str(path)) from None
    except (av.error.FFmpegError, IndexError) as exc:
        raise DataError(f"cannot read video ({exc})", str(path)) from None
