"""Per-pixel arithmetic over the three colour channels, without numpy's slow short-axis reductions.

``x.sum(axis=-1)``, ``x.max(axis=-1)`` or ``np.linalg.norm(x, axis=-1)`` on an
H x W x 3 (or N x 3) array reduce over an axis of length 3, which numpy runs
as millions of tiny inner loops: 10-30 ms on one 480x640 picture. Adding the
three channel planes instead gives the same values bit for bit (the same
additions in the same order: channel 0, then 1, then 2) in a tenth of the time.
Every function takes float arrays whose last axis is the colour.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray


def total(x: NDArray[Any]) -> NDArray[Any]:
    """``x.sum(axis=-1)`` for three channels."""
    summed: NDArray[Any] = x[..., 0] + x[..., 1] + x[..., 2]
    return summed


def dot(a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    """``(a * b).sum(axis=-1)``: the per-pixel dot product of two colours."""
    return total(a * b)


def norm(x: NDArray[Any]) -> NDArray[Any]:
    """``np.linalg.norm(x, axis=-1)``: the length of each colour (difference)."""
    length: NDArray[Any] = np.sqrt(dot(x, x))
    return length


def mean(x: NDArray[Any]) -> NDArray[Any]:
    """``x.mean(axis=-1)`` for three channels."""
    return total(x) / 3


def spread(x: NDArray[Any]) -> NDArray[Any]:
    """``x.max(axis=-1) - x.min(axis=-1)``: how far each colour is from grey."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    out: NDArray[Any] = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    return out


def tripled(w: NDArray[Any]) -> NDArray[Any]:
    """``w`` repeated for each channel: ``x * tripled(w)`` is ``x * w[..., None]``, fast.

    numpy broadcasts ``w[..., None]`` over a last axis of length 3 with one tiny
    inner loop per pixel; multiplying by a full three-channel copy does not.
    """
    w = np.ascontiguousarray(w)
    return cv2.merge([w, w, w]).reshape(*w.shape, 3)
