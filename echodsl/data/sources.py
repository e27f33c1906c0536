"""A study's ``data`` clause for an on-disk dataset -> its sequence source."""

from __future__ import annotations

import os

from echodsl.errors import UsageError


def open_source(variant: str, root: str | os.PathLike, height: int | None = None, width: int | None = None,
                split: str = "train"):
    """``cam`` -> :class:`~echodsl.data.cam.CamSource`, ``mind`` -> :class:`~echodsl.data.mind.MindSource`
    (its ``split`` clips: ``train`` or ``test``), both resizing frames to ``height`` x ``width``."""
    if variant == "cam":
        from echodsl.data.cam import CamConfig, CamSource

        return CamSource(root, CamConfig(height=height, width=width))
    if variant == "mind":
        from echodsl.data.mind import MindSource

        return MindSource(root, split, height, width)
    raise UsageError(f"data {variant}(...) is not an on-disk dataset")
