"""The face mesh on a tracking frame, with a cheap way out of protobuf.

Between counting frames guidance runs only the tracking-mode face mesh. Its
478 landmarks come back as protobuf objects; reading them one attribute at a
time costs about 1.3 ms a frame here, ten times the mesh's own bookkeeping
and several times more on a Raspberry Pi. The serialised list has a fixed
layout (x, y, z as little-endian floats, 17 bytes a landmark) that numpy
reads in one go; any other layout falls back to the attribute reads.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import Face

_N = 478
_XYZ = [3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16]  # float bytes inside each 17-byte entry


def landmarks_px(landmark_list, w: int, h: int) -> np.ndarray:
    """(478, 3) x, y in px and z in px-like units (scaled by width), as analysis uses."""
    raw = landmark_list.SerializeToString()
    if len(raw) == _N * 17:
        a = np.frombuffer(raw, np.uint8).reshape(_N, 17)
        if (a[:, 0] == 0x0A).all() and (a[:, 1] == 15).all() and (a[:, 2] == 0x0D).all():
            xyz = np.ascontiguousarray(a[:, _XYZ]).view("<f4").reshape(_N, 3)
            return (xyz * np.array([w, h, w], np.float32)).astype(np.float32)
    return np.array([[p.x * w, p.y * h, p.z * w] for p in landmark_list.landmark], np.float32)


def track(mesh, rgb: np.ndarray) -> Face | None:
    """The tracked face on ``rgb``, or None when the tracker lost it."""
    h, w = rgb.shape[:2]
    res = mesh.process(np.ascontiguousarray(rgb))
    if not res.multi_face_landmarks:
        return None
    pts = landmarks_px(res.multi_face_landmarks[0], w, h)
    xs, ys = pts[:, 0], pts[:, 1]
    box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min()))
    return Face(pts, box)


def second_look(
    mesh_static, frame: np.ndarray, box: tuple[float, float, float, float]
) -> Face | None:
    """The face measured as the still measures it: a static (fresh) mesh on a crop of
    the full-resolution frame around ``box`` (frame px), returned in frame px.

    The tracking mesh on the reduced preview reads some measures (an open mouth
    above all) differently from the still's static mesh; near a limit guidance asks
    this second look, which matched the still's reading on the sample portraits.
    """
    h, w = frame.shape[:2]
    x, y, bw, bh = box
    side = 2.0 * max(bw, bh)
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
    k = 1.0
    if max(crop.shape[:2]) < 256:
        k = 256 / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR)
    res = mesh_static.process(crop)
    if not res.multi_face_landmarks:
        return None
    ch, cw = crop.shape[:2]
    pts = landmarks_px(res.multi_face_landmarks[0], cw, ch) / k
    pts[:, 0] += x0
    pts[:, 1] += y0
    return Face(pts, box)
