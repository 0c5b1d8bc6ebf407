"""The final file: exactly the spec's pixels, baseline RGB JPEG, nothing else inside.

Quality is the highest (never below the spec's minimum) whose file lands in the
size window. A file that cannot reach the window honestly is left as it is and
fails the file-size check: padding a JPEG to reach a size is forbidden.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kiosk.photo.spec import Spec


@dataclass(frozen=True)
class Encoded:
    data: bytes
    quality: int
    subsampling: str


def _jpeg(img: Image.Image, quality: int, subsampling: int, dpi: int) -> bytes:
    buf = io.BytesIO()
    # No exif=, no icc_profile=: Pillow then writes JFIF with the density only.
    img.save(buf, "JPEG", quality=quality, subsampling=subsampling, dpi=(dpi, dpi),
             progressive=False, optimize=True)  # fmt: skip
    return buf.getvalue()


def encode(rgb: NDArray[Any], spec: Spec) -> Encoded:
    h, w = rgb.shape[:2]
    if (w, h) != (spec.width, spec.height) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"encode needs {spec.width}x{spec.height} RGB, got {rgb.shape}")
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    lo_b, hi_b = spec.size_min_bytes, spec.size_max_bytes
    for sub, sub_name in ((2, "4:2:0"), (0, "4:4:4")):
        lo, hi = spec.min_quality, spec.max_quality
        data_lo = _jpeg(img, lo, sub, spec.dpi)
        if len(data_lo) > hi_b:
            return Encoded(data_lo, lo, sub_name)  # too detailed even at the floor: check fails
        # Binary search for the highest quality under the upper bound.
        best: tuple[int, bytes] = (lo, data_lo)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            data = _jpeg(img, mid, sub, spec.dpi)
            if len(data) <= hi_b:
                lo, best = mid, (mid, data)
            else:
                hi = mid - 1
        if len(best[1]) >= lo_b:
            return Encoded(best[1], best[0], sub_name)
    # Even the richest honest encoding is below the window; never pad it.
    return Encoded(best[1], best[0], "4:4:4")
