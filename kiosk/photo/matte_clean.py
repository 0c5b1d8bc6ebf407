"""Clean the matte by what a reviewer would see: islands and spill out, holes in skin filled.

The composite is looked at the way ``matte_check`` judges a finished file, at
the file's own size: pieces of the old background floating in the new one
(islands) and patches of its colour left in the hair's edge (spill) are taken
out of the matte; background colour enclosed in the face, ears, neck or chest
(holes) is given back to the person, with the picture's own pixels. The
change is made on the master's alpha, so prints and the file agree.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo import matte_check
from kiosk.photo.analysis import Face
from kiosk.photo.matting import Matte
from kiosk.photo.spec import Spec


def clean(m: Matte, composite: np.ndarray, face: Face, spec: Spec) -> bool:
    """Edit ``m`` in place; True when anything changed (the caller composites again)."""
    h, w = composite.shape[:2]
    k = spec.height / h
    small = cv2.resize(composite, (round(w * k), spec.height), interpolation=cv2.INTER_AREA)
    f = matte_check.measure(small, face.transformed(k), np.array(spec.bg_rgb, np.float32), spec)
    remove = (f.islands > 0) | (f.spilled > 0)
    fill = f.holes > 0
    if not remove.any() and not fill.any():
        return False
    grow = np.ones((3, 3), np.uint8)
    remove_big = cv2.resize(cv2.dilate(remove.astype(np.uint8), grow), (w, h),
                            interpolation=cv2.INTER_NEAREST) > 0  # fmt: skip
    fill_big = cv2.resize(cv2.dilate(fill.astype(np.uint8), grow), (w, h),
                          interpolation=cv2.INTER_NEAREST) > 0  # fmt: skip
    m.alpha[remove_big] = 0.0
    m.inside[remove_big] = 0
    m.alpha[fill_big] = 1.0
    m.inside[fill_big] = 1
    # The band keeps its own list: drop the pixels now decided either way.
    keep = ~(remove_big[m.ys, m.xs] | fill_big[m.ys, m.xs])
    m.ys, m.xs, m.fg = m.ys[keep], m.xs[keep], m.fg[keep]
    return True
