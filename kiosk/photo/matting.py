"""From a coarse person mask to a soft alpha and clean foreground colours.

The selfie-segmentation mask is 256x256 and blocky. It is refined at the
crop's resolution with a colour guided filter (the local linear colour model
of closed-form matting, solved in closed form per window), restricted to an
uncertain band around the edge so the solid inside and the clear outside stay
exactly 1 and 0. Then the foreground colour is estimated in that band, so
compositing over a new colour leaves no halo of the old background: with a
smooth local background estimate B, F = (I - (1 - a) B) / a where a is large
enough, blended with the nearest solid-foreground colour where it is not.
"""

from __future__ import annotations

import cv2
import numpy as np


def _blur_norm(values: np.ndarray, weight: np.ndarray, sigma_px: float) -> np.ndarray:
    """Weighted Gaussian average (normalised convolution), computed at low resolution."""
    h, w = weight.shape
    k = max(1, int(sigma_px / 4))
    small_w = cv2.resize(weight, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
    small_v = cv2.resize(
        values * weight[..., None], (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA
    )
    s = max(1.0, sigma_px / k)
    num = cv2.GaussianBlur(small_v, (0, 0), s)
    den = cv2.GaussianBlur(small_w, (0, 0), s)
    avg = num / np.maximum(den, 1e-4)[..., None]
    return cv2.resize(avg, (w, h), interpolation=cv2.INTER_LINEAR)


def _band(p: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Certain inside and certain outside of a coarse mask, ``r`` px away from its edge."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    inside = cv2.erode((p > 0.5).astype(np.uint8), kernel).astype(bool)
    outside = cv2.erode((p <= 0.5).astype(np.uint8), kernel).astype(bool)
    return inside, outside


def refine_alpha(rgb: np.ndarray, coarse: np.ndarray, radius: int | None = None) -> np.ndarray:
    """Soft alpha (float32 0..1) at ``rgb``'s size from a coarse mask at any size.

    The colour guided filter snaps the mask to the picture's edges; the band
    around the edge is then solved per pixel against local foreground and
    background colours (least squares on I = aF + (1 - a)B), trusted where
    those colours differ and the guided value kept where they do not.
    """
    h, w = rgb.shape[:2]
    if coarse.shape != (h, w):
        coarse = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    p = np.clip(coarse, 0.0, 1.0).astype(np.float32)
    r = radius or max(2, round(max(h, w) / 160))
    guide = rgb if rgb.dtype == np.uint8 else np.clip(rgb * 255, 0, 255).astype(np.uint8)
    gf = cv2.ximgproc.guidedFilter(guide, p, r, 1e-3 * 255 * 255, -1)
    alpha = np.clip((gf - 0.08) / 0.84, 0.0, 1.0)
    inside, outside = _band(p, max(3, 2 * r))
    band = ~(inside | outside)
    img = guide.astype(np.float32)
    sigma = max(4.0, max(h, w) / 60)
    back = _blur_norm(img, outside.astype(np.float32), sigma)
    fore = _blur_norm(img, inside.astype(np.float32), sigma / 2)
    ys, xs = np.nonzero(band)
    if ys.size:
        i_, b_, f_ = img[ys, xs], back[ys, xs], fore[ys, xs]
        fb = f_ - b_
        norm2 = (fb * fb).sum(axis=1)
        proj = np.clip(((i_ - b_) * fb).sum(axis=1) / np.maximum(norm2, 1.0), 0.0, 1.0)
        trust = np.clip((np.sqrt(norm2) - 20.0) / 40.0, 0.0, 1.0)
        alpha[ys, xs] = trust * proj + (1.0 - trust) * alpha[ys, xs]
    alpha[inside] = 1.0
    alpha[outside] = 0.0
    # A light edge-aware smoothing removes pixel noise from the per-pixel solve.
    alpha = cv2.ximgproc.guidedFilter(guide, alpha, 1, 1e-4 * 255 * 255, -1)
    alpha[inside] = 1.0
    alpha[outside] = 0.0
    return np.clip(alpha, 0.0, 1.0)


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours (float32 0..255) with the old background taken out."""
    img = rgb.astype(np.float32)
    h, w = alpha.shape
    sigma = max(4.0, max(h, w) / 60)
    fg = img.copy()
    ys, xs = np.nonzero((alpha > 0.0) & (alpha < 0.999))
    if not ys.size:
        return fg
    back = _blur_norm(img, (alpha < 0.02).astype(np.float32), sigma)[ys, xs]
    near_fg = _blur_norm(img, (alpha > 0.98).astype(np.float32), sigma / 2)[ys, xs]
    a = alpha[ys, xs][:, None]
    solved = np.clip((img[ys, xs] - (1.0 - a) * back) / np.maximum(a, 1e-3), 0.0, 255.0)
    trust = np.clip((a - 0.15) / 0.5, 0.0, 1.0)
    fg[ys, xs] = trust * solved + (1.0 - trust) * near_fg
    return fg


def composite(fg: np.ndarray, alpha: np.ndarray, bg_rgb: tuple[int, int, int]) -> np.ndarray:
    """``alpha * F + (1 - alpha) * colour`` as uint8 RGB."""
    a = alpha[..., None]
    bg = np.array(bg_rgb, np.float32)
    out = fg * a + bg * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
