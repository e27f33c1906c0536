"""The rubric judge: the offline, deterministic default for the embedded world. It scores a
return probe from ground truth instead of asking a model.

Notation, per revisit frame r: x = generated frame, g = true frame (both RGB in [0, 1]),
M = true anchor mask (object ids of g == anchor id), B = not M (room and other objects),
|·| = pixel count, mean_S = mean over the pixels in S, e = mean absolute channel error
|x − g|₁ / 3 of a pixel.

Anchor-like pixels. Two palettes come from ground truth: P_A, the colours of the anchor
in the true revisit frames (and the first frame when its id mask is given), and P_O, the
colours of everything else. A pixel of colour c is *anchor-like* when
d(c, P_A) ≤ d(c, P_O) and d(c, P_A) ≤ τ_c, with d the Euclidean RGB distance to the
nearest palette colour. A = the anchor-like pixels of x.

Per frame:

* presence_r   = |A ∩ M| / |M|                         is the object where it should be?
* appearance_r = ½ · clamp(1 − mean_M(e) / τ_e, 0, 1)  colour agreement inside the mask
               + ½ · |A ∩ M| / |A ∪ M|                  shape agreement (IoU of masks)
* view_r       = clamp(SSIM(x, g), 0, 1) · clamp(1 − pose_err_r / τ_p, 0, 1)
                 (the pose factor is 1 when the pose error is unknown)
* scene_r      = clamp(1 − mean_B(e) / τ_e, 0, 1)      background agreement

Each subscore is 5 × the mean over revisit frames (frames where M is empty are skipped
for presence and appearance). Constants: τ_c = 0.10, τ_e = 0.25, τ_p = 45°. A perfect
revisit scores 5/5/5/5; one with the anchor erased scores presence ≈ 0.

Letters: R revisit frames, H/W pixels, N pixels, P palette colours.
"""

from __future__ import annotations

import json

import torch

from echodsl.eval.judges.base import MAX_SUBSCORE, GroundTruth, Judge, JudgeCase, JudgeResult, Subscores
from echodsl.eval.metrics import ssim, to_unit

TAU_COLOUR = 0.10  # RGB distance to the anchor palette that still counts as the anchor
TAU_ERROR = 0.25  # mean absolute channel error at which colour agreement reaches 0
TAU_POSE_DEG = 45.0  # pose error at which the view score reaches 0
_LEVELS = 63  # palette colours are quantised to 6 bits a channel to bound their number
_MAX_PALETTE = 4096


class RubricJudge(Judge):
    """Ground-truth rubric (module docstring has the formulas); needs ``case.truth``."""

    name = "rubric"
    version = "1"

    def score(self, case: JudgeCase) -> JudgeResult:
        truth = case.truth
        if truth is None:
            return self.failed(case, "the rubric judge needs ground truth (case.truth is None)")
        x, g = to_unit(case.revisits), to_unit(truth.revisits)  # (R, 3, H, W) x2
        mask = truth.ids == truth.anchor_id  # (R, H, W)
        anchor_pal, other_pal = _palettes(g, mask, to_unit(case.first), truth)
        pred = _anchor_like(x, anchor_pal, other_pal)  # (R, H, W)
        err = (x - g).abs().mean(1)  # (R, H, W)

        has = mask.flatten(1).any(1)  # (R,)
        inter = (pred & mask).flatten(1).sum(1).double()
        union = (pred | mask).flatten(1).sum(1).double()
        area = mask.flatten(1).sum(1).double()
        presence = inter / area.clamp(min=1)
        colour = (1 - _masked_mean(err, mask) / TAU_ERROR).clamp(0, 1)
        appearance = 0.5 * colour + 0.5 * inter / union.clamp(min=1)
        pose = torch.ones(x.shape[0], dtype=torch.float64)
        if truth.pose_error_deg is not None:
            pose = (1 - truth.pose_error_deg.double() / TAU_POSE_DEG).clamp(0, 1)
        view = ssim(case.revisits, truth.revisits).double().clamp(0, 1) * pose
        scene = (1 - _masked_mean(err, ~mask) / TAU_ERROR).clamp(0, 1)

        if not bool(has.any()):
            return self.failed(case, "the anchor is not visible in any true revisit frame")
        per_frame = {"presence": presence, "appearance": appearance, "view": view, "scene": scene}
        subs = {k: MAX_SUBSCORE * float((v[has] if k in ("presence", "appearance") else v).mean())
                for k, v in per_frame.items()}
        raw = {"per_frame": {k: [round(float(t), 6) for t in v] for k, v in per_frame.items()},
               "anchor_pixels": area.tolist(), "predicted_anchor_pixels": pred.flatten(1).sum(1).tolist(),
               "constants": {"tau_colour": TAU_COLOUR, "tau_error": TAU_ERROR, "tau_pose_deg": TAU_POSE_DEG}}
        return self.ok(case, Subscores(**subs), json.dumps(raw, sort_keys=True))


def _palettes(g: torch.Tensor, mask: torch.Tensor, first: torch.Tensor,
              truth: GroundTruth) -> tuple[torch.Tensor, torch.Tensor]:
    """(P_A, 3) and (P_O, 3): quantised true colours of the anchor and of everything else."""
    pixels = g.permute(0, 2, 3, 1).reshape(-1, 3)  # (N, 3)
    flat = mask.reshape(-1)
    anchor, other = [pixels[flat]], [pixels[~flat]]
    if truth.first_ids is not None:
        fp = first.permute(1, 2, 0).reshape(-1, 3)
        fm = (truth.first_ids == truth.anchor_id).reshape(-1)
        anchor.append(fp[fm])
        other.append(fp[~fm])
    return _palette(torch.cat(anchor)), _palette(torch.cat(other))


def _palette(colours: torch.Tensor) -> torch.Tensor:
    q = torch.unique((colours * _LEVELS).round(), dim=0) / _LEVELS  # sorted, so deterministic
    if q.shape[0] > _MAX_PALETTE:  # an even, deterministic subsample keeps memory bounded
        q = q[torch.linspace(0, q.shape[0] - 1, _MAX_PALETTE).long()]
    return q


def _nearest(colours: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """Distance (N,) from each colour to its nearest palette colour; inf for an empty palette."""
    if palette.shape[0] == 0:
        return torch.full((colours.shape[0],), float("inf"))
    return torch.cat([torch.cdist(c, palette).min(1).values for c in colours.split(8192)])


def _anchor_like(x: torch.Tensor, anchor_pal: torch.Tensor, other_pal: torch.Tensor) -> torch.Tensor:
    """(R, H, W) bool: pixels of x nearer the anchor palette than the rest, and close to it."""
    r, _, h, w = x.shape
    colours = x.permute(0, 2, 3, 1).reshape(-1, 3)  # (N, 3)
    da, do = _nearest(colours, anchor_pal), _nearest(colours, other_pal)
    return ((da <= do) & (da <= TAU_COLOUR)).reshape(r, h, w)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (R, H, W) values over each frame's mask -> (R,); 0 where the mask is empty."""
    m = mask.double()
    return (values.double() * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp(min=1)
