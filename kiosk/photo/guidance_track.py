"""The face mesh on a tracking frame, with a cheap way out of protobuf.

Between counting frames guidance runs only the tracking-mode face mesh. Its
478 landmarks come back as protobuf objects; reading them one attribute at a
time costs about 1.3 ms a frame here, ten times the mesh's own bookkeeping
and several times more on a Raspberry Pi. The serialised list has a fixed
layout (x, y, z as little-endian floats, 17 bytes a landmark) that numpy
reads in one go; any other layout falls back to the attribute reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from kiosk.photo import analysis
from kiosk.photo.analysis import Face

_N = 478
_XYZ = [3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16]  # float bytes inside each 17-byte entry


def landmarks_px(landmark_list: Any, w: int, h: int) -> NDArray[Any]:
    """(478, 3) x, y in px and z in px-like units (scaled by width), as analysis uses."""
    raw = landmark_list.SerializeToString()
    if len(raw) == _N * 17:
        a = np.frombuffer(raw, np.uint8).reshape(_N, 17)
        if (a[:, 0] == 0x0A).all() and (a[:, 1] == 15).all() and (a[:, 2] == 0x0D).all():
            xyz = np.ascontiguousarray(a[:, _XYZ]).view("<f4").reshape(_N, 3)
            return (xyz * np.array([w, h, w], np.float32)).astype(np.float32)
    return np.array([[p.x * w, p.y * h, p.z * w] for p in landmark_list.landmark], np.float32)


def track(mesh: Any, rgb: NDArray[Any]) -> Face | None:
    """The tracked face on ``rgb``, or None when the tracker lost it."""
    h, w = rgb.shape[:2]
    res = mesh.process(np.ascontiguousarray(rgb))
    if not res.multi_face_landmarks:
        return None
    pts = landmarks_px(res.multi_face_landmarks[0], w, h)
    xs, ys = pts[:, 0], pts[:, 1]
    box = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min()))
    return Face(pts, box)


def only_the_tracked_face(detector: Any, rgb: NDArray[Any], face: Face) -> bool:
    """One face detector on ``rgb`` sees nothing but the tracked face.

    Between full counts guidance runs one detector a frame (short range on one,
    full range on another) beside the tracker, so no frame pays for both. Any
    box that is not the tracked face (a second person, or a box the still's
    merged count might see) sends the frame to the full count, as the still counts.
    """
    h, w = rgb.shape[:2]
    res = detector.process(np.ascontiguousarray(rgb))
    x0, y0, bw, bh = face.box
    for d in res.detections or []:
        b = d.location_data.relative_bounding_box
        cx, cy = (b.xmin + b.width / 2) * w, (b.ymin + b.height / 2) * h
        if not (x0 <= cx <= x0 + bw and y0 <= cy <= y0 + bh):
            return False
    return len(res.detections or []) <= 1


def second_look(
    mesh_static: Any, frame: NDArray[Any], box: tuple[float, float, float, float]
) -> Face | None:
    """The face measured as the still measures it: a static (fresh) mesh on a crop of
    the full-resolution frame around ``box`` (frame px), returned in frame px.

    The tracking mesh on the reduced preview reads some measures (an open mouth
    above all) differently from the still's static mesh; near a limit guidance asks
    this second look, which matched the still's reading on the sample portraits.
    """
    pts = analysis.mesh_on_crop(mesh_static, frame, box)
    if pts is None:
        return None
    return Face(pts, box)
