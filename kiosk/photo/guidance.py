"""Live guidance on preview frames: one instruction at a time, and "ready".

The guide runs the same analysis as the still (tracking-mode face mesh,
segmentation for the hair top) and the same crop solver, with a little more
margin and tighter pose limits, so a pose it calls ready produces a compliant
photo. Instructions are for the mirrored preview: "move left" means the
student's own left, which is also the screen's left in a mirror. An
instruction must persist a few frames before it replaces another one, and
"ready" needs a run of stable good frames, so the screen does not flicker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk.photo import analysis, check
from kiosk.photo.analysis import Face, Models
from kiosk.photo.crop import FramingError, Head, edge_contacts, hair_top_from_alpha, solve
from kiosk.photo.messages import guidance_text
from kiosk.photo.spec import Spec, load_spec

ARROWS = ("left", "right", "up", "down", "closer", "back", "tilt_left", "tilt_right", "none")

_FRAMING_CODE = {
    "too_far": ("closer", "closer"),
    "too_close": ("back", "back"),
    "head_cut": ("lower", "down"),
    "proportions": ("hair_too_high", "none"),
}


@dataclass
class Advice:
    code: str
    zh: str
    en: str
    arrow: str = "none"
    ready: bool = False
    progress: float = 0.0
    face_box: tuple[float, float, float, float] | None = None  # frame px, unmirrored
    detail: dict = field(default_factory=dict)


@dataclass
class GuideOptions:
    stable_frames: int = 8
    switch_frames: int = 3
    margin: float = 6.0
    pose_factor: float = 0.8
    still_motion: float = 0.08
    analysis_width: int = 640
    hair_threshold: float = 0.2

    @classmethod
    def from_settings(cls) -> GuideOptions:
        from kiosk.settings import load_settings

        g = load_settings().section("photo").get("guidance", {})
        return cls(**{k: type(getattr(cls, k))(v) for k, v in g.items() if hasattr(cls, k)})


class Guide:
    """One per camera owner: holds its own tracking-mode mediapipe graphs."""

    def __init__(self, spec: Spec | None = None, options: GuideOptions | None = None,
                 still_scale: float = 1.0, count_every: int = 3) -> None:  # fmt: skip
        self.spec = spec or load_spec()
        self.opt = options or GuideOptions.from_settings()
        self.still_scale = still_scale  # still px per preview px (hybrid cameras)
        self.count_every = max(1, count_every)
        self.models = Models(static=False)
        self.reset()

    def reset(self) -> None:
        self._shown = "no_face"
        self._candidate = ""
        self._candidate_n = 0
        self._stable = 0
        self._last_eye: np.ndarray | None = None
        self._frame_no = 0
        self._faces = 0
        self._arrow = "none"

    # -- per-frame assessment --------------------------------------------------

    def assess(self, frame_rgb: np.ndarray) -> tuple[str, str, dict]:
        """The most important problem on this frame alone: (code, arrow, detail)."""
        h, w = frame_rgb.shape[:2]
        small, k = analysis.resize_max(frame_rgb, self.opt.analysis_width)
        count_now = self._frame_no % self.count_every == 0 or self._faces != 1
        a = analysis.analyse(small, self.models, count=count_now)
        if count_now:
            self._faces = a.face_count
        if a.face is None:
            return "no_face", "none", {}
        if self._faces > 1:
            return "multiple_faces", "none", {}
        face = a.face
        detail: dict = {"box": tuple(v / k for v in face.box)}
        sh, sw = small.shape[:2]
        if face.outside_fraction(sw, sh) > 0.0:
            return self._towards_centre(face, sw), "", detail
        relaxed = self._stable > 0
        margin = self.opt.margin * (0.5 if relaxed else 1.0)
        factor = self.opt.pose_factor + ((1 - self.opt.pose_factor) / 2 if relaxed else 0.0)
        head, alpha, origin = self._head(small, face)
        try:
            plan = solve(self.spec, head, self.spec.plan_margin + margin,
                         self.spec.max_upscale * self.still_scale / k)  # fmt: skip
            detail["plan"] = (plan.hair_top, plan.eye_line, plan.face_width)
        except FramingError as exc:
            detail["framing"] = exc.reason
            if exc.reason == "shoulders_cut":
                return self._towards_centre(face, sw) or "back", "", detail
            code, arrow = _FRAMING_CODE[exc.reason]
            return code, arrow, detail
        code, arrow = self._pose(face, factor)
        if code:
            return code, arrow, detail
        code = self._light_and_clothes(small, face, alpha, origin)
        if code:
            return code, "none", detail
        eye = np.array([face.eye_cx, face.eye_y]) / k
        moved = (
            self._last_eye is not None
            and np.linalg.norm(eye - self._last_eye) > self.opt.still_motion * face.eye_distance / k
        )
        self._last_eye = eye
        if moved:
            return "hold_still", "none", detail
        return "ready", "none", detail

    def _head(self, small: np.ndarray, face: Face) -> tuple[Head, np.ndarray, tuple[int, int]]:
        """Head geometry from a segmentation of the region around the expected crop.

        The still measures the hair top on a mask of the head's region, not of
        the whole picture; on a small whole-frame mask the hair blurs into
        trees or sky behind it. Segmenting the same kind of region here (one
        model call, as before) makes the estimate track the still's. Edge
        contacts count only where the region reaches the frame's edge.
        Returns the head, the region's alpha and the region's origin (x, y).
        """
        sh, sw = small.shape[:2]
        box = _expected_box(self.spec, face, face.crown_estimate)
        roi = _grown(box, sw, sh)
        alpha, local, top = self._segment(small, face, roi)
        if top is not None and top <= 1 and roi[1] > 0:
            # The hair reaches the region's top: look again up to the frame's top.
            roi = (roi[0], 0, roi[2], roi[3])
            alpha, local, top = self._segment(small, face, roi)
        touch_top, left_y, right_y = edge_contacts(alpha, local.face_cx, local.face_width)
        x0, y0, x1, _ = roi
        head = Head(
            face.eye_y,
            y0 + top if top is not None else face.crown_estimate,
            face.face_width,
            face.face_cx,
            sw,
            sh,
            touch_top and y0 == 0,
            y0 + left_y if left_y is not None and x0 == 0 else None,
            y0 + right_y if right_y is not None and x1 >= sw else None,
        )
        return head, alpha, (x0, y0)

    def _segment(
        self, small: np.ndarray, face: Face, roi: tuple[int, int, int, int]
    ) -> tuple[np.ndarray, Face, float | None]:
        x0, y0, x1, y1 = roi
        crop = np.ascontiguousarray(small[y0:y1, x0:x1])
        alpha = analysis.segment(crop, self.models)
        local = face.transformed(1.0, -x0, -y0)
        top = hair_top_from_alpha(
            alpha, local.face_cx, local.face_width, local.eye_y, self.opt.hair_threshold
        )
        return alpha, local, top

    def _towards_centre(self, face: Face, width: float) -> str:
        # Camera image-left is the student's right; to reach the middle they move to their left.
        return "move_left" if face.face_cx < width / 2 else "move_right"

    def _pose(self, face: Face, factor: float) -> tuple[str, str]:
        items = {i.name: i for i in check.pose_items(face, self.spec, factor)}
        if items["pupil_tilt"].verdict == "fail":
            return "straighten", "tilt_right" if face.roll > 0 else "tilt_left"
        if items["yaw"].verdict == "fail":
            return "turn_face", "none"
        if items["pitch"].verdict == "fail":
            return ("chin_down", "down") if items["pitch"].reason == "low" else ("chin_up", "up")
        if _gaze_off(face):
            return "look_at_lens", "none"
        if items["eyes_open"].verdict == "fail":
            return "open_eyes", "none"
        if items["mouth_closed"].verdict == "fail":
            return "close_mouth", "none"
        return "", ""

    def _light_and_clothes(
        self, rgb: np.ndarray, face: Face, alpha: np.ndarray, origin: tuple[int, int]
    ) -> str:
        q = self.spec.quality
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        items = {i.name: i for i in check.light_items(gray, face, self.spec)}
        lo, hi = q["exposure"]
        lum = items["exposure"].value or 0.0
        if items["exposure"].verdict == "fail" or not lo + 10 <= lum <= hi - 10:
            return "lighting"
        if items["illumination_balance"].value > q["balance_max"] * self.opt.pose_factor:
            return "lighting"
        # Clothing against the colour the background will become (every other pixel),
        # inside the region around the crop that the alpha covers.
        x0, y0 = origin
        region = rgb[y0 : y0 + alpha.shape[0], x0 : x0 + alpha.shape[1]]
        h = region.shape[0]
        top = int(max(0, min(h, face.chin_y - y0 + 0.25 * (face.chin_y - face.forehead_y))))
        body = alpha[top::2, ::2] > 0.9
        if body.sum() >= 50:
            px = region[top::2, ::2][body].astype(np.float32)
            far = (
                np.linalg.norm(px - np.array(self.spec.bg_rgb, np.float32), axis=1)
                > q["clothing_distance"]
            )
            if far.mean() < q["clothing_min_fraction"] + 0.1:
                return "clothing"
        return ""

    # -- hysteresis --------------------------------------------------------------

    def update(self, frame_rgb: np.ndarray) -> Advice:
        """Assess one preview frame and return what to show (with hysteresis)."""
        code, arrow, detail = self.assess(frame_rgb)
        self._frame_no += 1
        self._stable = self._stable + 1 if code == "ready" else 0
        if code in ("no_face", "multiple_faces"):
            self._last_eye = None
        # A new instruction must persist switch_frames frames before it is shown;
        # a lost face is shown at once only when nothing better was on screen.
        if code == self._candidate:
            self._candidate_n += 1
        else:
            self._candidate, self._candidate_n = code, 1
        if self._candidate_n >= self.opt.switch_frames or self._shown == "no_face":
            self._shown = self._candidate
        elif self._shown == "ready":
            self._shown = "hold_still"  # one odd frame while ready: just hold still
        if code == self._shown:
            self._arrow = arrow or "none"
        elif self._shown in ("ready", "hold_still"):
            self._arrow = "none"
        ready = self._stable >= self.opt.stable_frames
        display = self._shown
        if display == "ready" and not ready:
            display = "hold_still"
        arrow_out = self._arrow if display == self._shown else "none"
        if display in ("move_left", "move_right"):
            arrow_out = "left" if display == "move_left" else "right"
        zh, en = guidance_text(display)
        return Advice(
            code=display,
            zh=zh,
            en=en,
            arrow=arrow_out,
            ready=ready,
            progress=min(1.0, self._stable / self.opt.stable_frames),
            face_box=detail.get("box"),
            detail={"frame_code": code, **{k: v for k, v in detail.items() if k != "box"}},
        )


def _expected_box(spec: Spec, face: Face, hair_top: float) -> tuple[float, float, float, float]:
    """Roughly where the still's crop will be (frame px), as the pipeline guesses it."""
    s = spec.target_face_width / face.face_width
    y0 = hair_top - (spec.hair_top[0] + spec.hair_top[1]) / 2 / s
    x0 = face.face_cx - spec.width / (2 * s)
    return (x0, y0, x0 + spec.width / s, y0 + spec.height / s)


def _grown(box: tuple[float, float, float, float], w: int, h: int) -> tuple[int, int, int, int]:
    """The box grown as the pipeline grows its segmentation region, clipped to the frame."""
    x0, y0, x1, y1 = box
    gx, gy = 0.35 * (x1 - x0), 0.2 * (y1 - y0)
    return (int(max(0, x0 - gx)), int(max(0, y0 - gy)), int(min(w, x1 + gx)), int(min(h, y1 + gy)))


def _gaze_off(face: Face, limit: float = 0.16) -> bool:
    """Irises far from the middle of the eyes: looking away from the lens."""
    p = face.pts
    offs = []
    for outer, inner, iris in ((33, 133, 468), (263, 362, 473)):
        mid = (p[outer, 0] + p[inner, 0]) / 2
        width = abs(p[outer, 0] - p[inner, 0])
        offs.append((p[iris, 0] - mid) / max(width, 1e-6))
    return abs(float(np.mean(offs))) > limit


def letterbox(rgb: np.ndarray, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """A portrait placed on a grey preview-sized frame (tests and benchmarks)."""
    w, h = size
    k = min(w / rgb.shape[1], h / rgb.shape[0])
    img = cv2.resize(
        rgb, (round(rgb.shape[1] * k), round(rgb.shape[0] * k)), interpolation=cv2.INTER_AREA
    )
    out = np.full((h, w, 3), 128, np.uint8)
    y0, x0 = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
    out[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]] = img
    return out
