"""What a stored metric value means: the versioned definitions of the frame metrics.

Published PSNR tables for this task differ by several dB over exactly these details: the
data range, the colour space, the resolution the frames were scored at, and how per-frame
values are pooled. So each value the evaluation stores names its definition (``psnr/v1``)
and the resolution it was computed at, and ``results compare`` refuses to put values of
different definitions in one column.

A definition never changes once released: a metric computed differently gets a new one
(``psnr/v2``), and :data:`CURRENT` points the metric at it. To add a metric, add one
:class:`MetricDefinition` to :data:`DEFINITIONS` and its name to :data:`CURRENT`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

_FROM_UNIT = "frames in [-1, 1] mapped to [0, 1] and clamped; data range 1.0 (as 8-bit images scaled by 1/255)"
_MEAN_OF_FRAMES = "per frame, then the mean over every generated frame of the branch's cases (chunks likewise)"


@dataclass(frozen=True)
class MetricDefinition:
    """How one metric is computed; every field is a sentence a reader of a table needs."""

    id: str  # "<metric>/v<N>", never reused
    metric: str
    data_range: str
    colour_space: str
    resolution: str  # where the frames are scored; the concrete size is stored with each value
    pooling: str
    notes: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


DEFINITIONS: dict[str, MetricDefinition] = {d.id: d for d in (
    MetricDefinition(
        "psnr/v1", "psnr", _FROM_UNIT, "RGB as generated and rendered (no linearisation, no luma-only channel)",
        "the model's frame size, generated and ground-truth frames alike (no resizing or cropping)",
        "10 log10(1 / MSE), the MSE over all pixels and the 3 channels of one frame; " + _MEAN_OF_FRAMES,
        "capped at 100 dB (MSE floored at 1e-10) so identical frames stay finite"),
    MetricDefinition(
        "ssim/v1", "ssim", _FROM_UNIT, "RGB, each channel scored and averaged (no luma-only channel)",
        "the model's frame size (no resizing or cropping)",
        "torchmetrics SSIM over one frame (Gaussian window 11, sigma 1.5; frames smaller than 11 pixels use "
        "the largest odd window that fits, sigma scaled with it); " + _MEAN_OF_FRAMES),
    MetricDefinition(
        "lpips/v1", "lpips", "frames in [-1, 1] as LPIPS expects", "RGB",
        "the model's frame size (no resizing or cropping)",
        "LPIPS (AlexNet, v0.1 linear layers) spatially averaged over one frame; " + _MEAN_OF_FRAMES,
        "from local weights only (--lpips-weights)"),
)}
# The definition the evaluation computes today, per metric name.
CURRENT: dict[str, str] = {"psnr": "psnr/v1", "ssim": "ssim/v1", "lpips": "lpips/v1"}


def current_definition(metric: str) -> MetricDefinition | None:
    """The definition the evaluation uses for ``metric`` now; None for a metric without one."""
    key = CURRENT.get(metric)
    return DEFINITIONS[key] if key is not None else None
