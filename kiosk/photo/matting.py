"""From a coarse person mask to a soft alpha and clean foreground colours.

The selfie-segmentation mask is 256x256 and blocky. Only a band around its
edge is uncertain; inside stays exactly 1 and outside exactly 0, and all the
work happens in that band, so cost and memory follow the length of the
outline, not the picture size:

1. a colour guided filter (the local linear colour model of closed-form
   matting, solved in closed form per window) snaps the mask to the
   picture's edges; its coefficients are computed at reduced resolution and
   applied to the full-resolution colours (the "fast guided filter");
2. each band pixel is then solved against the local foreground and
   background colours, least squares on I = aF + (1 - a)B, trusted where
   those colours differ and the guided value kept where they do not;
3. the foreground colour is estimated from the same equation,
   F = (I - (1 - a)B) / a, blended towards the nearest solid foreground
   where a is small, so compositing over a new colour leaves no halo of the
   old background (a plain blend would).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from kiosk.photo import channels

WORK_SIDE = 360  # guided-filter coefficients and colour statistics are computed at this size
# Person probability below PRIOR_LOW is background whatever its colour; above PRIOR_HIGH
# the colour solve decides alone (measured on the hostile-background composites).
PRIOR_LOW, PRIOR_HIGH = 0.05, 0.35
# RGB distance from the person/background mix line beyond which a band pixel is not the person.
OFF_LOW, OFF_HIGH = 60.0, 110.0


@dataclass
class Matte:
    alpha: NDArray[Any]  # float32 HxW, 0..1
    ys: NDArray[Any]  # band pixels (0 < alpha < 1 possible there)
    xs: NDArray[Any]
    fg: NDArray[Any]  # float32 Nx3 foreground colour of the band pixels
    inside: NDArray[Any]  # uint8 HxW, 1 where certainly the person
    recoloured: NDArray[Any] | None = None  # bool N: band pixels whose colour the cleanup set


def _box(x: NDArray[Any], r: int) -> NDArray[Any]:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def _guided_coefficients(
    img: NDArray[Any], p: NDArray[Any], r: int, eps: float
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Colour guided filter coefficients (He et al.): q = a . I + b, smoothed."""
    mean_i = _box(img, r)
    mean_p = _box(p, r)
    cov_ip = _box(img * p[..., None], r) - mean_i * mean_p[..., None]
    rr, gg, bb = img[..., 0], img[..., 1], img[..., 2]
    mr, mg, mb = mean_i[..., 0], mean_i[..., 1], mean_i[..., 2]
    v_rr = _box(rr * rr, r) - mr * mr + eps
    v_rg = _box(rr * gg, r) - mr * mg
    v_rb = _box(rr * bb, r) - mr * mb
    v_gg = _box(gg * gg, r) - mg * mg + eps
    v_gb = _box(gg * bb, r) - mg * mb
    v_bb = _box(bb * bb, r) - mb * mb + eps
    # Inverse of the symmetric 3x3 covariance, by cofactors.
    i_rr = v_gg * v_bb - v_gb * v_gb
    i_rg = v_gb * v_rb - v_rg * v_bb
    i_rb = v_rg * v_gb - v_gg * v_rb
    i_gg = v_rr * v_bb - v_rb * v_rb
    i_gb = v_rb * v_rg - v_rr * v_gb
    i_bb = v_rr * v_gg - v_rg * v_rg
    det = v_rr * i_rr + v_rg * i_rg + v_rb * i_rb
    c0, c1, c2 = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    a = np.stack(
        [
            (i_rr * c0 + i_rg * c1 + i_rb * c2) / det,
            (i_rg * c0 + i_gg * c1 + i_gb * c2) / det,
            (i_rb * c0 + i_gb * c1 + i_bb * c2) / det,
        ],
        axis=-1,
    )
    b = mean_p - channels.dot(a, mean_i)
    return _box(a, r), _box(b, r)


def _blur_norm(values: NDArray[Any], weight: NDArray[Any], sigma: float) -> NDArray[Any]:
    """Weighted Gaussian average (normalised convolution)."""
    num = cv2.GaussianBlur(values * channels.tripled(weight), (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    out: NDArray[Any] = num / channels.tripled(np.maximum(den, 1e-4))
    return out


def _sample(arr: NDArray[Any], ys: NDArray[Any], xs: NDArray[Any], k: float) -> NDArray[Any]:
    """Bilinear samples of a low-resolution array at full-resolution pixel positions."""
    n = len(xs)
    cols = 1024  # remap wants a 2-D map under 32767 on each side
    rows = -(-n // cols)
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n] = (xs + 0.5) * k - 0.5
    my[:n] = (ys + 0.5) * k - 0.5
    out = cv2.remap(arr, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out.reshape(rows * cols, -1)[:n] if arr.ndim == 3 else out.reshape(-1)[:n]


RELEASE_DEPTH = 6  # band widths from the edge within which inside pixels may be released


def _release_background_blobs(
    small: NDArray[Any],
    depth: NDArray[Any],
    in_s: NDArray[Any],
    out_s: NDArray[Any],
    band: float,
    back_s: NDArray[Any],
) -> NDArray[Any]:
    """Hand "certain inside" pixels near the edge back to the band when they look like background.

    The segmentation model sometimes swallows a patch of bright wall or sky
    above the hair; such pixels match the local background colour and not the
    colour deeper inside the person, so the per-pixel solve should decide them.
    ``back_s`` is the local background colour (``_blur_norm`` of ``small`` over ``out_s``).
    """
    near = (in_s > 0) & (depth <= RELEASE_DEPTH * band)
    if not near.any():
        return in_s
    sigma = max(2.0, max(small.shape[:2]) / 60)
    deep = (depth > RELEASE_DEPTH * band).astype(np.float32)
    if deep.sum() < 10 or out_s.sum() < 10:
        return in_s
    back = back_s[near]
    fore = _blur_norm(small, deep, sigma)[near]
    px = small[near]
    fb = fore - back
    norm2 = channels.dot(fb, fb)
    proj = channels.dot(px - back, fb) / np.maximum(norm2, 1e-4)
    close_to_back = channels.norm(px - back) < 0.5 * np.sqrt(norm2)
    suspicious = (np.sqrt(norm2) > 0.25) & (proj < 0.3) & close_to_back
    mask = np.zeros_like(in_s)
    ys, xs = np.nonzero(near)
    mask[ys[suspicious], xs[suspicious]] = 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    sat = channels.spread(small)
    bg_sat = channels.spread(back) > 0.25
    # Only patches that open onto the edge band: a highlight inside the hair stays hair.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return in_s
    edge = cv2.dilate(1 - in_s, np.ones((3, 3), np.uint8)) & in_s
    strong = np.zeros_like(in_s)
    strong[ys[suspicious & bg_sat], xs[suspicious & bg_sat]] = 1
    enclosed = {
        lab
        for lab in range(1, n)
        if (strong[labels == lab] > 0).mean() > 0.5 and sat[labels == lab].mean() > 0.25
    }
    touching = set(np.unique(labels[(edge > 0) & (mask > 0)]).tolist())
    # Patches that open onto the edge band, and enclosed ones in the outer hair
    # (the old backdrop seen between strands) when their colour is saturated
    # background, which hair highlights are not.
    keep = [
        lab
        for lab in range(1, n)
        if stats[lab, cv2.CC_STAT_AREA] >= 6 and (lab in touching or lab in enclosed)
    ]
    if not keep:
        return in_s
    out = in_s.copy()
    out[np.isin(labels, keep)] = 0
    return out


def work_scale(h: int, w: int, work_side: int = WORK_SIDE) -> float:
    """Work px per full px for an image of this size."""
    return min(1.0, work_side / max(h, w))


def matte(
    rgb: NDArray[Any], coarse: NDArray[Any], radius: int | None = None, work_side: int = WORK_SIDE
) -> Matte:
    """Soft alpha and band foreground at ``rgb``'s size from a coarse mask at any size.

    The coarse mask is only ever used at work size (it comes from a 256x256
    model), so callers may pass it at ``work_scale`` to save a full-size warp.
    """
    h, w = rgb.shape[:2]
    k = work_scale(h, w, work_side)
    wh, ww = max(1, round(h * k)), max(1, round(w * k))
    p_small = (
        coarse
        if coarse.shape == (wh, ww)
        else cv2.resize(coarse, (ww, wh), interpolation=cv2.INTER_AREA)
    )
    p_small = np.clip(p_small, 0, 1).astype(np.float32)
    r_full = radius or max(2, round(max(h, w) / 160))
    band_s = max(3, 2 * r_full) * k
    # Certain inside/outside from distance transforms at work size, then to full size.
    person = (p_small > 0.5).astype(np.uint8)
    depth = cv2.distanceTransform(person, cv2.DIST_L2, 3)
    in_s = (depth > band_s).astype(np.uint8)
    out_s = (cv2.distanceTransform(1 - person, cv2.DIST_L2, 3) > band_s).astype(np.uint8)
    small = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    # The old background's local colour: judged against here and solved against below.
    sigma = max(2.0, max(wh, ww) / 60)
    back_s = _blur_norm(small, out_s.astype(np.float32), sigma)
    in_s = _release_background_blobs(small, depth, in_s, out_s, band_s, back_s)
    inside: NDArray[Any] = cv2.resize(in_s, (w, h), interpolation=cv2.INTER_NEAREST)
    outside: NDArray[Any] = cv2.resize(out_s, (w, h), interpolation=cv2.INTER_NEAREST)
    alpha = inside.astype(np.float32)
    ys, xs = np.nonzero((inside | outside) == 0)
    if ys.size == 0:
        return Matte(alpha, ys, xs, np.zeros((0, 3), np.float32), inside)
    r = max(1, round(r_full * k))
    a_coef, b_coef = _guided_coefficients(small, p_small, r, 1e-3)
    img_b = rgb[ys, xs].astype(np.float32)  # band colours, full resolution, 0..255
    gf = channels.dot(_sample(a_coef, ys, xs, k), img_b / 255.0) + _sample(b_coef, ys, xs, k)
    a_band = np.clip((gf - 0.08) / 0.84, 0.0, 1.0)
    # Local background and foreground colours from the certain regions (work size).
    back = _sample(back_s, ys, xs, k) * 255.0
    fore = _sample(_blur_norm(small, in_s.astype(np.float32), sigma / 2), ys, xs, k) * 255.0
    fb = fore - back
    norm2 = channels.dot(fb, fb)
    proj = np.clip(channels.dot(img_b - back, fb) / np.maximum(norm2, 1.0), 0.0, 1.0)
    trust = np.clip((np.sqrt(norm2) - 20.0) / 40.0, 0.0, 1.0)
    a_band = trust * proj + (1.0 - trust) * a_band
    # The colour solve cannot tell a dark letter or a bright light of a busy
    # backdrop from hair: where the person model is fairly sure there is no
    # person, the band gives way (hair keeps its soft probability there).
    prior = _sample(p_small, ys, xs, k)
    a_band *= np.clip((prior - PRIOR_LOW) / (PRIOR_HIGH - PRIOR_LOW), 0.0, 1.0)
    # A colour that is neither the person's nearby colour nor a mix of it with the
    # nearby background is a third thing -- a letter, a logo, a light -- not the person.
    p3 = channels.tripled(proj)
    mix = p3 * fore + (1.0 - p3) * back
    off = channels.norm(img_b - mix)
    a_band *= np.clip((OFF_HIGH - off) / (OFF_HIGH - OFF_LOW), 0.0, 1.0)
    alpha[ys, xs] = a_band
    # Light smoothing of the per-pixel solve; the certain regions stay pinned.
    smooth = cv2.blur(alpha, (3, 3))
    a_band = smooth[ys, xs]
    alpha[ys, xs] = a_band
    a = channels.tripled(a_band)
    solved = np.clip((img_b - (1.0 - a) * back) / np.maximum(a, 1e-3), 0.0, 255.0)
    t = np.clip((a - 0.15) / 0.5, 0.0, 1.0)
    fg = t * solved + (1.0 - t) * fore
    return Matte(alpha, ys, xs, fg.astype(np.float32), inside)


def refine_alpha(
    rgb: NDArray[Any], coarse: NDArray[Any], radius: int | None = None, work_side: int = 256
) -> NDArray[Any]:
    """Only the soft alpha (for measuring the hair top); statistics at the model's size."""
    return matte(rgb, coarse, radius, work_side).alpha


def composite(rgb: NDArray[Any], m: Matte, bg_rgb: tuple[int, int, int]) -> NDArray[Any]:
    """``alpha * F + (1 - alpha) * colour`` as uint8 RGB; solid regions copied untouched."""
    out = np.empty_like(rgb)
    # One row of the colour, copied down: filling with a 3-vector directly is 100x slower.
    out[:] = np.tile(np.array(bg_rgb, np.uint8), (rgb.shape[1], 1))
    cv2.copyTo(rgb, m.inside, out)
    if m.ys.size:
        a = channels.tripled(m.alpha[m.ys, m.xs])
        bg = np.array(bg_rgb, np.float32)
        out[m.ys, m.xs] = np.clip(m.fg * a + bg * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
    return out
