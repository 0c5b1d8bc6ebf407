"""Is a retake the same person as the version before it? A coarse second look.

Why: a version 2 of an order was a different person from version 1, and the
page said only "第 2 版". No face-recognition model ships with the center's
packages (and none may be downloaded at run time), so this compares the shape
of the face: stable face-mesh landmarks, aligned for position, size and roll
(Procrustes), their RMS difference in units of the eye distance. The same
person photographed twice stays well under the threshold; it flags clearly
different faces for the reviewer to look at. It never decides anything.
Runs in the background checker's process (mediapipe), never in a request.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

# Eye corners, brows, nose, mouth corners, cheeks, jaw and chin of the face mesh.
LANDMARKS = (33, 133, 263, 362, 70, 105, 300, 334, 1, 6, 98, 327, 61, 291, 0, 17,
             234, 454, 172, 397, 152, 10, 168, 4)  # fmt: skip


def signature(jpeg: bytes) -> list[float] | None:
    """The aligned landmark shape of the one face in a JPEG, or None without one."""
    from kiosk.photo import analysis
    from kiosk.photo.imageio import decode_rgb

    rgb = decode_rgb(jpeg, 640)
    a = analysis.analyse(rgb)
    if a.face_count != 1 or a.face is None:
        return None
    pts = a.face.pts[list(LANDMARKS), :2].astype(np.float64)
    return [float(v) for v in _normalise(pts).ravel()]


def _normalise(pts: NDArray[Any]) -> NDArray[Any]:
    pts = pts - pts.mean(axis=0)
    eyes = (pts[0] + pts[1]) / 2, (pts[2] + pts[3]) / 2
    d = eyes[1] - eyes[0]
    scale = float(np.hypot(*d)) or 1.0
    angle = -np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out: NDArray[Any] = (pts @ rot.T) / scale
    return out


def distance(a: list[float], b: list[float]) -> float:
    """RMS landmark difference after alignment, in eye distances."""
    pa = np.asarray(a).reshape(-1, 2)
    pb = np.asarray(b).reshape(-1, 2)
    return float(np.sqrt(((pa - pb) ** 2).sum(axis=1).mean()))
