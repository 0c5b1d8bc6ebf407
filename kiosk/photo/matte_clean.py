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

SPILL_REACH = 0.02  # of the master's height: how far a spill patch's colour is followed
SPILL_SIMILAR = 45.0  # RGB distance to the patch's own colour that counts as the same stuff


def _spill_region(spilled: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The old backdrop's colour around each spill patch, in the source picture.

    Taking out only the flagged pixels bares the next ring of the same colour
    behind the strands; following the patch's colour a little way takes the
    whole patch in one go.
    """
    h, w = source.shape[:2]
    out = np.zeros((h, w), bool)
    n, labels = cv2.connectedComponents(spilled.astype(np.uint8), connectivity=8)
    reach = max(3, int(SPILL_REACH * h))
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
    for lab in range(1, n):
        patch = (labels == lab).astype(np.uint8)
        ys, xs = np.nonzero(patch)
        colour = np.median(source[ys, xs].astype(np.float32), axis=0)
        y0, y1 = max(0, ys.min() - reach), min(h, ys.max() + reach + 1)
        x0, x1 = max(0, xs.min() - reach), min(w, xs.max() + reach + 1)
        near = cv2.dilate(patch[y0:y1, x0:x1], ker) > 0
        similar = np.linalg.norm(source[y0:y1, x0:x1].astype(np.float32) - colour, axis=2)
        out[y0:y1, x0:x1] |= near & (similar < SPILL_SIMILAR)
    return out


def clean(
    m: Matte, composite: np.ndarray, face: Face, spec: Spec, source: np.ndarray | None = None
) -> bool:
    """Edit ``m`` in place; True when anything changed (the caller composites again).

    ``source`` is the picture the matte was made from (master size); with it,
    spill is followed through the strands by its colour.
    """
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
    if source is not None and f.spilled.any():
        spilled_big = cv2.resize(f.spilled, (w, h), interpolation=cv2.INTER_NEAREST)
        remove_big |= _spill_region(spilled_big, source) & ~fill_big
    m.alpha[remove_big] = 0.0
    m.inside[remove_big] = 0
    m.alpha[fill_big] = 1.0
    m.inside[fill_big] = 1
    # The band keeps its own list: drop the pixels now decided either way.
    keep = ~(remove_big[m.ys, m.xs] | fill_big[m.ys, m.xs])
    m.ys, m.xs, m.fg = m.ys[keep], m.xs[keep], m.fg[keep]
    return True
