"""One global tone curve for a dim or bright capture, as the camera would have exposed it.

The face's mean luminance must lie inside the spec's exposure band. A capture
whose face is too dark (or too bright) only because of the exposure can be
brought into the band by one gamma curve applied to every pixel of the
picture alike -- never a local change, never a change to the face alone. The
curve is refused when it would need a gamma outside the spec's range or would
clip more of the face than the spec allows, since that is a capture no curve
can save: the student is then asked to retake it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from kiosk.photo.spec import Spec


@dataclass(frozen=True)
class ToneCurve:
    gamma: float  # out = 255 * (in / 255) ** gamma
    before: float  # face mean luminance
    after: float

    def lut(self) -> NDArray[Any]:
        x = np.arange(256, dtype=np.float64) / 255.0
        return np.clip(255.0 * x**self.gamma + 0.5, 0, 255).astype(np.uint8)

    def apply(self, rgb: NDArray[Any]) -> NDArray[Any]:
        return cv2.LUT(rgb, self.lut())


def _mean_after(face_px: NDArray[Any], gamma: float) -> float:
    return float((255.0 * (face_px / 255.0) ** gamma).mean())


def plan_curve(face_gray: NDArray[Any], spec: Spec) -> ToneCurve | None:
    """The gamma that moves the face's mean luminance just inside the band, or None.

    None when the face is already inside the band, or when no allowed curve
    reaches it without clipping the face.
    """
    q = spec.quality
    lo, hi = q["exposure"]
    px = face_gray.astype(np.float64).ravel()
    if px.size == 0:
        return None
    mean = float(px.mean())
    if lo <= mean <= hi:
        return None
    margin = q["exposure_target_margin"]
    target = lo + margin if mean < lo else hi - margin
    # The mean after the curve falls as gamma grows: bisect on log-gamma.
    g_lo, g_hi = q["gamma_min"], q["gamma_max"]
    if not _mean_after(px, g_hi) <= target <= _mean_after(px, g_lo):
        return None
    a, b = np.log(g_lo), np.log(g_hi)
    for _ in range(30):
        mid = (a + b) / 2
        if _mean_after(px, float(np.exp(mid))) > target:
            a = mid
        else:
            b = mid
    gamma = float(np.exp((a + b) / 2))
    curve = ToneCurve(gamma, mean, _mean_after(px, gamma))
    out = curve.lut()[np.clip(px, 0, 255).astype(np.uint8)]
    clipped = float(((out <= 2) | (out >= 253)).mean())
    if clipped > q["clipped_max"]:
        return None
    return curve
