"""Face analysis with mediapipe's legacy solutions: how many faces, and where.

Faces are counted with the face detectors (short- and full-range), never by
the mesh alone: a photo with two people must be refused, not cropped to one.
The mesh (with iris refinement) gives eye centres, chin, cheek-to-cheek width,
head pose and eye/mouth opening. mediapipe graphs are not thread-safe, so each
thread (or owner, like a live Guide) has its own set, created once and reused.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Mesh landmark indices (subject's right eye is on the image left).
IRIS_L, IRIS_R = 468, 473  # image-left, image-right iris centres
CHEEK_L, CHEEK_R = 234, 454
FOREHEAD, CHIN, NOSE = 10, 152, 1
EYE_L = (33, 133, 159, 145)  # outer, inner, upper lid, lower lid
EYE_R = (263, 362, 386, 374)
MOUTH = (61, 291, 13, 14)  # corners, inner upper lip, inner lower lip
# A detector box: x, y, width, height (pixels) and score.
Box = tuple[float, float, float, float, float]
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
             54, 103, 67, 109)  # fmt: skip
# Hair above the forehead landmark, as a fraction of the forehead-to-chin length,
# when no person mask is at hand (guidance estimate; the still uses the mask).
CROWN_FACTOR = 0.42


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """mediapipe's C++ side logs start-up chatter straight to fd 2 before any log
    configuration applies; the operator's terminal and journal should not fill
    with it. Only graph creation and warm-up run inside this."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Models:
    """One thread's (or one owner's) mediapipe graphs, created and warmed up once."""

    def __init__(self, static: bool = True) -> None:
        with _quiet_native_stderr():
            self._create(static)
            self.warm_up()

    def _create(self, static: bool) -> None:
        import mediapipe as mp

        sol = mp.solutions
        self.static = static
        self.det_short = sol.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=0.5
        )
        self.det_full = sol.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self.mesh = sol.face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        # Crops around a detector box are always fresh images: static mode.
        self.mesh_crop = (
            self.mesh
            if static
            else sol.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=True
            )
        )
        self.seg = sol.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def warm_up(self) -> None:
        """Run every graph once so the first student does not wait for initialisation."""
        img = np.full((256, 192, 3), 128, np.uint8)
        self.det_short.process(img)
        self.det_full.process(img)
        self.mesh.process(img)
        if self.mesh_crop is not self.mesh:
            self.mesh_crop.process(img)
        self.seg.process(img)


_local = threading.local()


def models() -> Models:
    """This thread's static-image models, created on first use."""
    m = getattr(_local, "models", None)
    if m is None:
        m = _local.models = Models(static=True)
    return m


def warm_up() -> None:
    models().warm_up()


@dataclass
class Face:
    """Landmarks in the pixel coordinates of the image they were found on."""

    pts: NDArray[Any]  # (478, 3): x, y in px; z in px-like units (scaled by width)
    box: tuple[float, float, float, float]  # detector box x, y, w, h (px)

    def transformed(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> Face:
        """The same face in another image: p' = p * scale + (dx, dy)."""
        pts = self.pts * scale
        pts[:, 0] += dx
        pts[:, 1] += dy
        x, y, w, h = self.box
        return Face(pts, (x * scale + dx, y * scale + dy, w * scale, h * scale))

    @property
    def eye_left(self) -> NDArray[Any]:
        return self.pts[IRIS_L, :2]

    @property
    def eye_right(self) -> NDArray[Any]:
        return self.pts[IRIS_R, :2]

    @property
    def eye_y(self) -> float:
        return float((self.pts[IRIS_L, 1] + self.pts[IRIS_R, 1]) / 2)

    @property
    def eye_cx(self) -> float:
        return float((self.pts[IRIS_L, 0] + self.pts[IRIS_R, 0]) / 2)

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.eye_right - self.eye_left))

    @property
    def chin_y(self) -> float:
        return float(self.pts[CHIN, 1])

    @property
    def forehead_y(self) -> float:
        return float(self.pts[FOREHEAD, 1])

    @property
    def crown_estimate(self) -> float:
        """Hair top guessed from the face alone (no mask): above the forehead landmark."""
        return self.forehead_y - CROWN_FACTOR * (self.chin_y - self.forehead_y)

    @property
    def face_cx(self) -> float:
        return float((self.pts[CHEEK_L, 0] + self.pts[CHEEK_R, 0]) / 2)

    @property
    def face_width(self) -> float:
        return float(np.linalg.norm(self.pts[CHEEK_R, :2] - self.pts[CHEEK_L, :2]))

    @property
    def roll(self) -> float:
        """Pupil-line tilt in degrees (positive: the image-right eye is lower)."""
        d = self.eye_right - self.eye_left
        return math.degrees(math.atan2(float(d[1]), float(d[0])))

    @property
    def yaw(self) -> float:
        """Degrees the face is turned (from the depth of one cheek against the other)."""
        a, b = self.pts[CHEEK_L], self.pts[CHEEK_R]
        return math.degrees(math.atan2(float(b[2] - a[2]), float(b[0] - a[0])))

    @property
    def pitch_raw(self) -> float:
        """Forehead-to-chin lean in degrees; a level head reads ``pose.pitch_offset``.

        Smaller values mean the chin is raised (it comes towards the camera).
        """
        a, b = self.pts[FOREHEAD], self.pts[CHIN]
        return math.degrees(math.atan2(float(b[2] - a[2]), float(b[1] - a[1])))

    def _open(self, idx: tuple[int, int, int, int]) -> float:
        p = self.pts[:, :2]
        width = float(np.linalg.norm(p[idx[0]] - p[idx[1]]))
        return float(np.linalg.norm(p[idx[2]] - p[idx[3]])) / max(width, 1e-6)

    @property
    def eye_open(self) -> float:
        """The less open eye: eyelid gap over eye width."""
        return min(self._open(EYE_L), self._open(EYE_R))

    @property
    def mouth_open(self) -> float:
        return self._open(MOUTH)

    def outside_fraction(self, width: int, height: int) -> float:
        """How far the face outline reaches outside the image, in face widths."""
        oval = self.pts[list(FACE_OVAL), :2]
        over = np.maximum.reduce(
            [-oval[:, 0], oval[:, 0] - width, -oval[:, 1], oval[:, 1] - height, np.zeros(len(oval))]
        )
        return float(over.max() / max(self.face_width, 1.0))


@dataclass
class Analysis:
    size: tuple[int, int]  # (w, h) of the analysed image
    face_count: int
    face: Face | None
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)

    def transformed(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> Analysis:
        w, h = self.size
        return Analysis(
            (round(w * scale), round(h * scale)),
            self.face_count,
            self.face.transformed(scale, dx, dy) if self.face else None,
            [
                (x * scale + dx, y * scale + dy, bw * scale, bh * scale)
                for x, y, bw, bh in self.boxes
            ],
        )


def _boxes(result: Any, w: int, h: int) -> list[tuple[float, float, float, float, float]]:
    out = []
    for d in result.detections or []:
        b = d.location_data.relative_bounding_box
        out.append((b.xmin * w, b.ymin * h, b.width * w, b.height * h, float(d.score[0])))
    return out


def _merge_boxes(a: list[Box], b: list[Box]) -> list[tuple[float, float, float, float, float]]:
    """Union of two detectors' boxes (with their scores); overlapping boxes are the same face."""
    merged: list[tuple[float, float, float, float, float]] = []
    for box in sorted(a + b, key=lambda t: -t[4]):
        if all(_iou(box, m) < 0.3 for m in merged):
            merged.append(box)
    return merged


def _confirmed(
    m: Models,
    rgb: NDArray[Any],
    box: tuple[float, float, float, float, float],
    rules: dict[str, Any],
) -> bool:
    """A further face is a sitter only with a good score and landmarks of its own.

    A blurred building or a poster can fool a detector at 0.6; it does not give
    the face mesh a face whose landmarks lie inside the detector's box.
    """
    if box[4] < rules["second_min_score"]:
        return False
    if not rules.get("second_needs_landmarks", True):
        return True
    pts = mesh_on_crop(m.mesh_crop, rgb, box[:4])
    if pts is None:
        return False
    x, y, bw, bh = box[:4]
    cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
    return x <= cx <= x + bw and y <= cy <= y + bh


def _iou(p: Sequence[float], q: Sequence[float]) -> float:
    x1, y1 = max(p[0], q[0]), max(p[1], q[1])
    x2, y2 = min(p[0] + p[2], q[0] + q[2]), min(p[1] + p[3], q[1] + q[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = p[2] * p[3] + q[2] * q[3] - inter
    return inter / union if union > 0 else 0.0


def count_faces(boxes: list[tuple[float, float, float, float]], ratio: float = 0.35) -> int:
    """Faces that matter: at least ``ratio`` of the largest face's width.

    A tiny face far in the background of a booth is not a second sitter; a
    second person beside the student is, and must be refused.
    """
    if not boxes:
        return 0
    biggest = max(b[2] for b in boxes)
    return sum(1 for b in boxes if b[2] >= ratio * biggest)


def _mesh_face(mesh: Any, rgb: NDArray[Any]) -> NDArray[Any] | None:
    h, w = rgb.shape[:2]
    if getattr(mesh, "_kiosk_spoke", False):
        res = mesh.process(rgb)
    else:
        # The first face a graph sees triggers one more line of native start-up chatter.
        with _quiet_native_stderr():
            res = mesh.process(rgb)
        if res.multi_face_landmarks:
            mesh._kiosk_spoke = True
    if not res.multi_face_landmarks:
        return None
    lm = res.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h, p.z * w] for p in lm], np.float32)


def mesh_on_crop(
    mesh: Any, rgb: NDArray[Any], box: tuple[float, float, float, float]
) -> NDArray[Any] | None:
    """Second chance: the mesh on a square crop around the detector's box."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    side = 2.0 * max(bw, bh)
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    k = 1.0
    if max(crop.shape[:2]) < 256:
        k = 256 / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR)
    pts = _mesh_face(mesh, crop)
    if pts is None:
        return None
    pts /= k
    pts[:, 0] += x0
    pts[:, 1] += y0
    return pts


def analyse(
    rgb: NDArray[Any], m: Models | None = None, count: bool = True, rules: dict[str, Any] | None = None
) -> Analysis:
    """Count faces and measure the main one on an image of at most ~640 px.

    With ``rules`` (the spec's ``[faces]`` table) a face beside the main one
    counts only when confirmed (score, size, landmarks of its own); without,
    every detector box of ``count_faces``'s size counts.
    """
    m = m or models()
    h, w = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb)
    scored: list[tuple[float, float, float, float, float]] = []
    if count:
        scored = _merge_boxes(
            _boxes(m.det_short.process(rgb), w, h), _boxes(m.det_full.process(rgb), w, h)
        )
    boxes = [b[:4] for b in scored]
    pts = _mesh_face(m.mesh, rgb)
    if pts is None and boxes:
        biggest = max(boxes, key=lambda b: b[2] * b[3])
        pts = mesh_on_crop(m.mesh_crop, rgb, biggest)
    face = None
    if pts is not None:
        xs, ys = pts[:, 0], pts[:, 1]
        own = (
            float(xs.min()),
            float(ys.min()),
            float(xs.max() - xs.min()),
            float(ys.max() - ys.min()),
        )
        box = max(boxes, key=lambda b: _iou(b, own)) if boxes else own
        face = Face(pts, box)
    n = count_faces(boxes) if count else (1 if face else 0)
    if count and rules is not None and face is not None and n > 1:
        main = max(range(len(boxes)), key=lambda i: _iou(boxes[i], face.box))
        widest = max(b[2] for b in boxes)
        others = [
            b
            for i, b in enumerate(scored)
            if i != main and b[2] >= rules["second_min_ratio"] * widest
        ]
        n = 1 + sum(1 for b in others if _confirmed(m, rgb, b, rules))
    if face is not None and n == 0:
        n = 1  # the mesh found a face the detectors missed
    return Analysis((w, h), n, face, boxes)


def segment(rgb: NDArray[Any], m: Models | None = None) -> NDArray[Any]:
    """Person probability (float32 0..1) at the input's size (model works at 256x256)."""
    m = m or models()
    res = m.seg.process(np.ascontiguousarray(rgb))
    mask = res.segmentation_mask
    if mask is None:
        return np.zeros(rgb.shape[:2], np.float32)
    person: NDArray[Any] = mask.astype(np.float32, copy=False)
    return person


def resize_max(rgb: NDArray[Any], max_side: int) -> tuple[NDArray[Any], float]:
    """Downscale so the longer side is at most ``max_side``; returns the factor used."""
    h, w = rgb.shape[:2]
    k = min(1.0, max_side / max(h, w))
    if k >= 1.0:
        return rgb, 1.0
    out = cv2.resize(
        rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA
    )
    return out, k
