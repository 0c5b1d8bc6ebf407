"""Flat regions where a face, neck or clothes must be: the trace of a damaged file.

A JPEG cut short and closed with an end marker decodes without an error in
many decoders, the missing part filled with one flat colour (libjpeg: every
block gets the last DC value and no detail). Made into a photo, its lower part
is a flat grey slab where the clothes should be, and the other checks, which
look at the face and the background, can pass it. Skin, hair and cloth under a
real camera always carry some texture and sensor noise, so blocks whose every
pixel has the same value, inside the face or the body below the chin, mean the
picture is not a real one. Blocks of the background colours are not counted
(the background beside a slim neck is flat on purpose), nor crushed black or
blown white ones (an exposure fault, judged by the exposure item).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from kiosk.photo.analysis import Face
from kiosk.photo.report import Item, make_item
from kiosk.photo.spec import Spec

BLOCK = 8  # px: the JPEG block, so a damaged block is flat as a whole
BACKGROUND_NEAR = 30.0  # RGB distance within which a flat block is background, not a hole
CLIPPED = (3.0, 252.0)  # a flat block this dark or bright is crushed black or blown white cloth


def _flat_fraction(rgb: NDArray[Any], box: tuple[int, int, int, int], max_range: float,
                   background: NDArray[Any]) -> float:
    """Fraction of the 8x8 blocks in ``box`` whose colour range is at most ``max_range``."""
    x0, y0, x1, y1 = box
    h, w = rgb.shape[:2]
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, x1), min(h, y1)
    nx, ny = (x1 - x0) // BLOCK, (y1 - y0) // BLOCK
    if nx < 1 or ny < 1:
        return 0.0
    area = rgb[y0 : y0 + ny * BLOCK, x0 : x0 + nx * BLOCK].astype(np.int16)
    blocks = area.reshape(ny, BLOCK, nx, BLOCK, 3)
    spread = (blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))).max(axis=-1)  # (ny, nx)
    flat = spread <= max_range
    means = blocks.mean(axis=(1, 3)).astype(np.float32)  # (ny, nx, 3)
    flat &= ~((means <= CLIPPED[0]).all(axis=-1) | (means >= CLIPPED[1]).all(axis=-1))
    if background.size:
        dist = np.linalg.norm(means[:, :, None, :] - background[None, None], axis=-1).min(axis=-1)
        flat &= dist > BACKGROUND_NEAR
    return float(flat.mean())


def regions(face: Face, w: int, h: int) -> dict[str, tuple[int, int, int, int]]:
    """Where a real photo must show texture: the face, and the neck and clothes below it."""
    fw = face.face_width
    cx = face.face_cx
    face_h = max(face.chin_y - face.forehead_y, 1.0)
    return {
        "face": (int(cx - 0.4 * fw), int(face.forehead_y), int(cx + 0.4 * fw), int(face.chin_y)),
        "body": (int(cx - 0.75 * fw), int(face.chin_y + 0.15 * face_h), int(cx + 0.75 * fw), h),
    }


def flat_region_item(rgb: NDArray[Any], face: Face, spec: Spec) -> Item:
    """The largest flat fraction over the face and body regions, against the spec's limit."""
    q = spec.quality
    h, w = rgb.shape[:2]
    background = np.array(list(spec.colours.values()), np.float32).reshape(-1, 3)
    worst, where = 0.0, ""
    for name, box in regions(face, w, h).items():
        frac = _flat_fraction(rgb, box, q["flat_block_range"], background)
        if frac > worst:
            worst, where = frac, name
    limit = q["flat_max_fraction"]
    verdict = "fail" if worst > limit else "pass"
    return make_item("flat_region", round(worst, 3), f"≤ {limit:g}", verdict,
                     where if verdict == "fail" else "")
