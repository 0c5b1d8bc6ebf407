"""Camera frames as the QR libraries want them.

Its own module so the decoders, which the package's ``make_decoder`` imports,
need not import the package back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def to_gray(frame: NDArray[Any]) -> NDArray[Any]:
    """Grayscale uint8, contiguous: both libraries are fastest on one channel."""
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        f = frame.astype(np.uint16)
        gray = ((f[..., 0] * 77 + f[..., 1] * 150 + f[..., 2] * 29) >> 8).astype(np.uint8)
    else:
        raise ValueError(f"not an image frame: shape {frame.shape}")
    if gray.dtype != np.uint8:
        gray = gray.astype(np.uint8)
    return np.ascontiguousarray(gray)
