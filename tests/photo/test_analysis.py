"""Face analysis: small faces are found through the detector's box; faces are counted, not picked."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo import analysis


def _small_face(girl: np.ndarray, f: float) -> np.ndarray:
    small = cv2.resize(girl, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    canvas = np.full((640, 640, 3), 110, np.uint8)
    canvas[640 - small.shape[0] :, 100 : 100 + small.shape[1]] = small
    return canvas


def test_mesh_retried_on_the_detector_crop(girl: np.ndarray) -> None:
    frame = _small_face(girl, 0.25)
    assert analysis._mesh_face(analysis.models().mesh, frame) is None  # the plain mesh misses it
    a = analysis.analyse(frame)
    assert a.face is not None and a.face_count == 1
    x, y, w, h = a.boxes[0]
    assert x <= a.face.eye_cx <= x + w and y <= a.face.eye_y <= y + h


def test_two_people_side_by_side_are_two_faces(girl: np.ndarray) -> None:
    pair = np.concatenate([girl, girl[:, ::-1]], axis=1)
    small, _ = analysis.resize_max(pair, 640)
    assert analysis.analyse(small).face_count == 2


def test_face_measures_are_scale_free(girl: np.ndarray) -> None:
    a = analysis.analyse(girl).face
    b = analysis.analyse(cv2.resize(girl, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)).face
    assert abs(a.roll - b.roll) < 1.0 and abs(a.eye_open - b.eye_open) < 0.05
    assert abs(b.face_width / a.face_width - 0.6) < 0.03
