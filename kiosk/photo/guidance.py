"""Live guidance on preview frames: one instruction at a time, and "ready".

Guidance makes a promise: "ready" means the still taken now is compliant, and
any other instruction names the still's first failure that the student can
fix. So it measures what the still measures, with the still's own limits
(a margin only where its estimate may differ from the still's measurement),
judges edges against the still's picture area (not the letterboxed or
cropped preview frame; see ``hardware.cameras.geometry``), takes the
still/preview scale from the camera's geometry, and names problems in the
still's order (``guidance_order``).

It must also be fast enough for a Raspberry Pi: the face mesh runs in
tracking mode on every frame, each of the two face detectors (counting) once
every ``count_every`` frames on a frame of its own, and the person
segmentation only when the cached head geometry has gone stale (the face
moved or grew, or it is ``seg_every`` frames old), never on a counting frame
unless it must: no frame runs more than one model beside the mesh.

Instructions are for the mirrored preview: "move left" means the student's
own left, which is also the screen's left in a mirror. An instruction must
persist a few frames before it replaces another one, and "ready" needs a run
of stable good frames, so the screen does not flicker.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from kiosk.photo import analysis, check, exposure, guidance_track
from kiosk.photo.analysis import Face, Models
from kiosk.photo.crop import FramingError, Head, Plan, edge_contacts, hair_top_from_alpha, solve
from kiosk.photo.guidance_order import prediction_order
from kiosk.photo.messages import guidance_text
from kiosk.photo.report import Item
from kiosk.photo.spec import Spec, load_spec

ARROWS = ("left", "right", "up", "down", "closer", "back", "tilt_left", "tilt_right", "none")

_FRAMING_CODE = {
    "too_far": ("closer", "closer"),
    "too_close": ("back", "back"),
    "head_cut": ("lower", "down"),
    "proportions": ("hair_too_high", "none"),
}

Rect = tuple[int, int, int, int]


@dataclass
class Advice:
    code: str
    zh: str
    en: str
    arrow: str = "none"
    ready: bool = False
    progress: float = 0.0
    face_box: tuple[float, float, float, float] | None = None  # frame px, unmirrored
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class GuideOptions:
    stable_frames: int = 8
    switch_frames: int = 3
    margin: float = 2.0
    pose_factor: float = 1.0
    mouth_factor: float = 0.85
    near_factor: float = 1.25
    still_motion: float = 0.08
    analysis_width: int = 640
    hair_threshold: float = 0.2
    seg_every: int = 4
    count_every: int = 4
    # A segmentation that only refreshes an aged head geometry (the face has not
    # moved) runs its model on one frame and measures the mask on the next, the
    # old geometry serving meanwhile: no frame pays for both.
    spread_segmentation: bool = True
    blur_factor: float = 1.0
    blur_power: float = 1.3
    blur_floor: float = 0.38
    blur_sure: float = 0.65
    # A busy, coloured background beside the head (foliage, a logo) that the still
    # would enlarge: the person segmentation swallows bits of it next to the hair and
    # the enlarged matte keeps them as spill (the street portrait, zoomed out). Share
    # of the ring beside the head with RGB spread >= busy_saturation, and the output
    # px per still px above which "closer" is asked (see _busy_background).
    busy_saturation: float = 40.0
    busy_fraction: float = 0.15
    busy_enlarge: float = 1.0
    busy_room: float = 1.15  # the still's picture must be this much larger than the output


@dataclass
class _HeadCache:
    """Head geometry from one segmentation, relative to the face it was measured on."""

    eye: NDArray[Any]  # eye centre, analysis px
    face_width: float
    hair_dy: float | None  # (hair top - eye line) / face width
    touch_top: bool
    left_dy: float | None  # (highest left-edge contact - eye line) / face width
    right_dy: float | None
    alpha: NDArray[Any]
    origin: tuple[int, int]
    vis: Rect
    age: int = 0
    clothing: float | None = None  # fraction of clothing pixels far from the new background
    busy: float | None = None  # share of coloured pixels in the background beside the head


@dataclass
class _PendingMask:
    """A segmentation made on one frame, measured on the next (``spread_segmentation``)."""

    small: NDArray[Any]  # that frame's analysis image
    face: Face  # the face on it, analysis px
    vis: Rect
    roi: Rect
    alpha: NDArray[Any]


@dataclass
class _Frame:
    """One frame's measurements, computed only as far as the decision needs them."""

    frame: NDArray[Any]  # as given (full preview resolution)
    small: NDArray[Any]  # analysis resolution
    k: float  # small px per frame px
    face: Face  # small px
    pic: tuple[float, float, float, float]  # the still's picture, small px
    vis: Rect  # the part of the picture the frame shows, small px (int)
    scale: float  # still px per small px
    count_frame: bool
    cache: dict[str, Any] = field(default_factory=dict)


class Guide:
    """One per camera owner: holds its own tracking-mode mediapipe graphs."""

    def __init__(self, spec: Spec | None = None, options: GuideOptions | None = None,
                 still_scale: float = 1.0, count_every: int | None = None,
                 geometry: Any = None) -> None:  # fmt: skip
        self.spec = spec or load_spec()
        self.opt = options or GuideOptions()
        # Still px per preview px when the camera gives no geometry (the frame is the picture).
        self.still_scale = still_scale
        # hardware.cameras.geometry.PictureGeometry in the coordinates of update()'s frames.
        self.geometry = geometry
        self.count_every = max(1, count_every or self.opt.count_every)
        self.order = prediction_order(self.spec)
        self.models = Models(static=False)
        self.reset()

    def reset(self) -> None:
        """Forget the student: hysteresis, caches and the mesh's tracked face."""
        if hasattr(self, "models"):
            self.models.mesh.reset()  # a new student must not be read through the last one's face
        self._shown = "no_face"
        self._candidate = ""
        self._candidate_n = 0
        self._stable = 0
        self._last_eye: NDArray[Any] | None = None
        self._frame_no = 0
        self._faces = 0
        self._arrow = "none"
        self._head_cache: _HeadCache | None = None
        self._pending: _PendingMask | None = None
        self._second: tuple[int, NDArray[Any], Face] | None = None
        self.segmentations = 0  # model calls, for benchmarks and tests

    # -- the picture area ------------------------------------------------------

    def _picture(
        self, w: int, h: int, k: float, sw: int, sh: int
    ) -> tuple[tuple[float, float, float, float], Rect, float]:
        """(picture box, visible rect, still px per small px) in analysis px."""
        g = self.geometry
        if g is None:
            box, scale = (0.0, 0.0, float(w), float(h)), self.still_scale
        else:
            if tuple(g.preview_size) != (w, h):
                g = g.resized(w, h)
            box, scale = g.box, g.scale
        bx0, by0, bx1, by1 = box
        pic = (bx0 * k, by0 * k, bx1 * k, by1 * k)
        vis = (
            max(0, math.ceil(pic[0] - 1e-6)),
            max(0, math.ceil(pic[1] - 1e-6)),
            min(sw, math.floor(pic[2] + 1e-6)),
            min(sh, math.floor(pic[3] + 1e-6)),
        )
        return pic, vis, scale / k

    # -- per-frame assessment --------------------------------------------------

    def assess(self, frame_rgb: NDArray[Any]) -> tuple[str, str, dict[str, Any]]:
        """The still's first fixable problem on this frame alone: (code, arrow, detail)."""
        h, w = frame_rgb.shape[:2]
        small, k = analysis.resize_max(frame_rgb, self.opt.analysis_width)
        sh, sw = small.shape[:2]
        pic, vis, scale = self._picture(w, h, k, sw, sh)
        if vis[2] - vis[0] < 16 or vis[3] - vis[1] < 16:
            return "no_face", "none", {}  # the still's picture is not in this frame
        if self._head_cache is not None:
            self._head_cache.age += 1
            if self._head_cache.vis != vis:
                self._head_cache = None
        face, count_now = self._track_and_count(small)
        if face is None:
            # A counting frame, or the tracker lost the face (a head turned far, a fast
            # move): the detectors count and find it, the mesh runs on their box, as
            # the still does.
            count_now = True
            a = analysis.analyse(small, self.models, count=True, rules=self.spec.faces)
            self._faces, face = a.face_count, a.face
        if face is None:
            if self._faces == 1:
                # The detectors see one face that the mesh cannot read: a head turned
                # far from the lens (34-38 degrees and more). The still refuses that
                # pose; "no face" would send the student looking for the camera.
                return "turn_face", "none", {"item": "yaw"}
            return "no_face", "none", {}
        if self._faces > 1:
            return "multiple_faces", "none", {}
        detail: dict[str, Any] = {"box": tuple(v / k for v in face.box)}
        f = _Frame(frame_rgb, small, k, face, pic, vis, scale, count_now)
        # A value past the still's own limit is the still's failure: the first one in
        # the still's order is the instruction. A value only inside guidance's margin
        # (where its estimate may read lower than the still's) withholds "ready" but
        # names the problem only when nothing surely fails.
        doubtful: tuple[str, str, str] | None = None
        for name in self.order:
            check_fn = self._checks.get(name)
            if check_fn is None:
                continue
            found = check_fn(self, f, detail)
            if not found:
                continue
            code, arrow = found[:2]
            if len(found) > 2 and found[2] == "margin":
                doubtful = doubtful or (code, arrow, name)
                continue
            detail["item"] = name
            return code, arrow, detail
        if doubtful:
            detail["item"] = doubtful[2]
            return doubtful[0], doubtful[1], detail
        if _gaze_off(face):
            return "look_at_lens", "none", detail
        eye = np.array([face.eye_cx, face.eye_y]) / k
        moved = (
            self._last_eye is not None
            and np.linalg.norm(eye - self._last_eye) > self.opt.still_motion * face.eye_distance / k
        )
        self._last_eye = eye
        if moved:
            return "hold_still", "none", detail
        return "ready", "none", detail

    def _track_and_count(self, small: NDArray[Any]) -> tuple[Face | None, bool]:
        """The tracked face, and whether this frame counted faces; None: count in full.

        While exactly one face is tracked, the two face detectors take turns on
        their own frames of each ``count_every`` cycle (short range on the first,
        full range on the second), so no frame pays for the mesh and both
        detectors (and segmentation waits for a frame without a detector: the
        p90 frame used to be a full count). A detector that sees anything but
        the tracked face, a lost tracker, or a count other than one runs the full
        count (both detectors and the mesh, as the still counts).
        """
        if self._faces != 1 or self.count_every < 2:
            return None, True
        phase = self._frame_no % self.count_every
        face = guidance_track.track(self.models.mesh, small)
        if face is None or phase > 1:
            return face, False
        det = self.models.det_short if phase == 0 else self.models.det_full
        if not guidance_track.only_the_tracked_face(det, small, face):
            return None, True
        return face, True

    # -- the still's items, as guidance measures them ----------------------------

    def _face_cut(self, f: _Frame, detail: dict[str, Any]) -> tuple[str, str] | None:
        x0, y0, x1, y1 = f.vis
        local = f.face.transformed(1.0, -x0, -y0)
        if local.outside_fraction(x1 - x0, y1 - y0) <= 0.0:
            return None
        oval = local.pts[list(analysis.FACE_OVAL), :2]
        over = {
            "left": -oval[:, 0].min(),
            "right": oval[:, 0].max() - (x1 - x0),
            "top": -oval[:, 1].min(),
            "bottom": oval[:, 1].max() - (y1 - y0),
        }
        side = max(over, key=over.__getitem__)
        if side == "top":
            return "lower", "down"
        if side == "bottom":
            return "higher", "up"
        return self._towards_centre(f), ""

    def _pose_items(self, f: _Frame) -> tuple[dict[str, Item], dict[str, Item]]:
        """The still's pose items at its own limits, and at guidance's margin.

        When a measure lies near a limit, a second look as the still looks
        (static mesh on the full-resolution face) decides, at the still's own
        limits; it is reused for a few frames while the face stays put.
        """
        if "pose" not in f.cache:
            relaxed = self._stable > 0
            own = {i.name: i for i in check.pose_items(f.face, self.spec)}
            tight = {i.name: i for i in check.pose_items(f.face, self.spec, self.opt.pose_factor)}
            # The tracking mesh reads an open mouth lower than the still's mesh does.
            m = self.opt.mouth_factor
            m += (1 - m) / 2 if relaxed else 0.0
            tight["mouth_closed"] = check.pose_items(f.face, self.spec, m)[-1]
            # Near a limit (inside the margin, or past it by less than a quarter) the
            # tracker's reading is not good enough to tell the still's verdict.
            loose = {i.name: i for i in check.pose_items(f.face, self.spec, self.opt.near_factor)}
            doubt = [n for n in own if tight[n].verdict == "fail" and loose[n].verdict != "fail"]
            if doubt:
                face = self._second_look(f)
                if face is not None:
                    second = {i.name: i for i in check.pose_items(face, self.spec)}
                    own = {**own, **{n: second[n] for n in doubt}}
                    tight = {**tight, **{n: second[n] for n in doubt}}
            f.cache["pose"] = (own, tight)
        pose: tuple[dict[str, Item], dict[str, Item]] = f.cache["pose"]
        return pose

    def _second_look(self, f: _Frame) -> Face | None:
        eye = np.array([f.face.eye_cx, f.face.eye_y])
        last = self._second
        if last is not None and self._frame_no - last[0] < self.opt.seg_every:
            if np.linalg.norm(eye - last[1]) < 0.05 * f.face.face_width:
                return last[2].transformed(1.0, *(eye - last[1]))
        bx, by, bw, bh = f.face.box
        box = (bx / f.k, by / f.k, bw / f.k, bh / f.k)
        face = guidance_track.second_look(self.models.mesh_crop, f.frame, box)
        face = face.transformed(f.k) if face is not None else None
        self._second = (self._frame_no, eye, face) if face is not None else None
        return face

    def _framing(self, f: _Frame, detail: dict[str, Any]) -> tuple[str, str] | None:
        plan = self._plan(f, detail)
        if isinstance(plan, Plan):
            return None
        detail["framing"] = plan
        if plan == "shoulders_cut":
            return self._towards_centre(f) or "back", ""
        return _FRAMING_CODE[plan]

    def _sharpness(self, f: _Frame, detail: dict[str, Any]) -> tuple[str, ...] | None:
        value = self._sharpness_value(f)
        detail["sharpness"] = round(value, 1)
        enlarge = f.cache.get("enlarge", 1.0)
        detail["enlarge"] = round(enlarge, 2)
        limit = self.sharpness_limit(enlarge)
        if value >= limit:
            return None
        # Just under the limit a sharp face on a small preview reads like a blurred one:
        # "ready" is withheld, but "hold still" is named only when nothing surely fails.
        if value < limit * self.opt.blur_sure:
            return "hold_still", "none"
        return "hold_still", "none", "margin"

    def sharpness_limit(self, enlarge: float) -> float:
        """The still's sharpness_min as the preview can show it, enlarged ``enlarge`` times.

        A preview with fewer pixels than the output is enlarged to the output's scale
        and reads less sharp than the still, the more so the more it is enlarged: the
        limit falls as ``enlarge ** -blur_power``, down to ``blur_floor`` times the
        still's, below which a motion-blurred capture would pass (calibrated on the
        sample portraits and their blurred captures; see config/defaults/photo.toml).
        """
        e = max(1.0, enlarge)
        factor = max(self.opt.blur_factor * e**-self.opt.blur_power, self.opt.blur_floor)
        limit: float = self.spec.quality["sharpness_min"] * factor
        return limit

    def _clothing(self, f: _Frame, detail: dict[str, Any]) -> tuple[str, str] | None:
        """Clothing against the colour the background will become, once per segmentation
        (clothes do not change between two segmentations; the pixels are those of then)."""
        if not isinstance(self._plan(f, detail), Plan):
            return None
        c = self._head_cache
        if c is None:
            return None
        if c.clothing is None:
            c.clothing = self._clothing_fraction(f, c)
        detail["clothing"] = round(c.clothing, 3)
        if c.clothing < self.spec.quality["clothing_min_fraction"]:
            return "clothing", "none"
        return None

    def _clothing_fraction(self, f: _Frame, c: _HeadCache) -> float:
        q = self.spec.quality
        x0, y0 = c.origin
        region = f.small[y0 : y0 + c.alpha.shape[0], x0 : x0 + c.alpha.shape[1]]
        hh = min(region.shape[0], c.alpha.shape[0])
        top = int(max(0, min(hh, f.face.chin_y - y0 + 0.25 * (f.face.chin_y - f.face.forehead_y))))
        body = c.alpha[top:hh:2, : region.shape[1] : 2] > 0.9
        if body.sum() < 50:
            return 1.0  # too little clothing in view to judge: the still passes it too
        px = region[top:hh:2, ::2][body].astype(np.float32)
        bg = np.array(self.spec.bg_rgb, np.float32)
        return float((np.linalg.norm(px - bg, axis=1) > q["clothing_distance"]).mean())

    def _busy_background(self, f: _Frame, detail: dict[str, Any]) -> tuple[str, str] | None:
        """The matte's spill, foreseen from the segmentation: "closer" when it would fail.

        The still's matte is refused for spill when the person segmentation takes in
        bits of a busy, coloured background beside the hair (leaves, a logo) and the
        still then enlarges them to the output's scale: patches that a reduced
        capture shrinks below the limit grow past it. Guidance cannot run the still's
        matting on every frame, so it looks at what causes that: the share of
        coloured pixels in the background just beside the head and shoulders (once
        per segmentation), and how much the still would be enlarged. Coming closer
        fills the picture with the person and the still is no longer enlarged.
        A heuristic: on the sample portraits' booth variants it separates the one
        refused matte (street, zoomed out) from every compliant still; it errs
        towards "closer", since an enlarged still before a busy or colourful
        backdrop that the matte would have handled gets it too.
        """
        plan = self._plan(f, detail)
        if not isinstance(plan, Plan):
            return None
        c = self._head_cache
        if c is None:
            return None
        if c.busy is None:
            c.busy = self._busy_fraction(f, c)
        enlarge = plan.scale / f.scale  # output px per still px
        detail["busy_background"] = round(c.busy, 3)
        detail["still_enlarged"] = round(enlarge, 2)
        if c.busy < self.opt.busy_fraction or enlarge <= self.opt.busy_enlarge:
            return None
        # Only where coming closer can help: the still's picture must hold the output
        # unenlarged with room to spare. A camera whose stills are barely larger than
        # the output (a 1280x720 webcam) enlarges every still; "closer" would then
        # never end, and an auto-capture booth would never take the picture.
        pw = (f.pic[2] - f.pic[0]) * f.scale
        ph = (f.pic[3] - f.pic[1]) * f.scale
        room = self.opt.busy_room * self.opt.busy_enlarge
        if pw < room * self.spec.width or ph < room * self.spec.height:
            return None
        return "closer", "closer"

    def _busy_fraction(self, f: _Frame, c: _HeadCache) -> float:
        x0, y0 = c.origin
        region = f.small[y0 : y0 + c.alpha.shape[0], x0 : x0 + c.alpha.shape[1]]
        alpha = c.alpha[: region.shape[0], : region.shape[1]]
        person = (alpha > 0.5).astype(np.uint8)
        if not person.any():
            return 0.0
        face = f.face.transformed(1.0, -x0, -y0)
        beside = cv2.distanceTransform(1 - person, cv2.DIST_L2, 3) <= 0.25 * face.face_width
        ring = beside & (person == 0)
        face_h = max(1.0, face.chin_y - face.forehead_y)
        ring[: int(max(0, face.eye_y))] = False  # the sides of the head and the shoulders
        ring[int(max(0, face.chin_y + face_h)) :] = False
        n = int(ring.sum())
        if n < 50:
            return 0.0
        px = region[ring]
        spread = px.max(axis=1).astype(np.int16) - px.min(axis=1).astype(np.int16)
        return float((spread >= self.opt.busy_saturation).mean())

    _checks: dict[str, Callable[..., tuple[str, ...] | None]] = {}

    # -- framing -------------------------------------------------------------------

    def _plan(self, f: _Frame, detail: dict[str, Any]) -> Plan | str:
        """The still's crop solved on this frame (picture coordinates), or the reason it fails."""
        if "plan" in f.cache:
            cached: Plan | str = f.cache["plan"]
            return cached
        head = self._head(f)
        px0, py0 = f.pic[0], f.pic[1]
        relaxed = self._stable > 0
        margin = self.opt.margin * (0.5 if relaxed else 1.0)
        plan: Plan | str
        try:
            plan = solve(self.spec, head, self.spec.plan_margin + margin,
                         self.spec.max_upscale * f.scale)  # fmt: skip
            detail["plan"] = (plan.hair_top, plan.eye_line, plan.face_width)
        except FramingError as exc:
            plan = exc.reason
        f.cache["plan"] = plan
        f.cache["head_origin"] = (px0, py0)
        return plan

    def _head(self, f: _Frame) -> Head:
        """Head geometry in the picture's coordinates (analysis px, picture origin)."""
        face = f.face
        p, self._pending = self._pending, None
        if p is not None and p.vis == f.vis:
            self._measure_head(p.small, p.face, p.vis, p.roi, p.alpha).age = 1
        c = self._head_cache
        fresh = (
            c is not None
            and c.age < self.opt.seg_every
            and np.linalg.norm(np.array([face.eye_cx, face.eye_y]) - c.eye) < 0.1 * face.face_width
            and abs(face.face_width / c.face_width - 1) < 0.06
        )
        # A counting frame already ran the detectors: segment only if the cache is unusable.
        usable = c is not None and c.age < 2 * self.opt.seg_every
        aged = c is not None and usable and c.vis == f.vis and self._moved_little(f, c)
        if c is None or (not fresh and not (f.count_frame and aged)):
            if aged and self.opt.spread_segmentation:
                # Only aged: the model now, its measurements on the next frame; the
                # old geometry serves this one (as it does on a counting frame).
                roi = self._head_roi(f)
                self._pending = _PendingMask(f.small, face, f.vis, roi, self._segment(f.small, roi))
            else:
                c = self._segment_head(f)
        assert c is not None
        px0, py0, px1, py1 = f.pic
        fw = face.face_width

        def rel(dy: float | None) -> float | None:
            return None if dy is None else face.eye_y + dy * fw - py0

        hair = rel(c.hair_dy)
        return Head(
            face.eye_y - py0,
            hair if hair is not None else face.crown_estimate - py0,
            fw,
            face.face_cx - px0,
            px1 - px0,
            py1 - py0,
            c.touch_top,
            rel(c.left_dy),
            rel(c.right_dy),
        )

    def _moved_little(self, f: _Frame, c: _HeadCache) -> bool:
        face = f.face
        d = float(np.linalg.norm(np.array([face.eye_cx, face.eye_y]) - c.eye))
        return d < 0.15 * face.face_width and abs(face.face_width / c.face_width - 1) < 0.1

    def _segment_head(self, f: _Frame) -> _HeadCache:
        """Segment the region around the expected crop, as the still does, and measure it."""
        roi = self._head_roi(f)
        return self._measure_head(f.small, f.face, f.vis, roi, self._segment(f.small, roi))

    def _head_roi(self, f: _Frame) -> Rect:
        """The region around the expected crop, grown as the pipeline grows it."""
        return _grown(_expected_box(self.spec, f.face, f.face.crown_estimate), f.vis)

    def _measure_head(
        self, small: NDArray[Any], face: Face, vis: Rect, roi: Rect, alpha: NDArray[Any]
    ) -> _HeadCache:
        """Hair top and edge contacts from the person mask of ``roi``, as the still measures them.

        The still measures the hair top on a mask of the head's region, not of
        the whole picture; on a small whole-frame mask the hair blurs into trees
        or sky behind it. Edge contacts count only where the region reaches the
        edge of the picture as the frame shows it (never a letterbox bar).
        """
        local = face.transformed(1.0, -roi[0], -roi[1])
        top = hair_top_from_alpha(
            alpha, local.face_cx, local.face_width, local.eye_y, self.opt.hair_threshold
        )
        if top is not None and top <= 1 and roi[1] > vis[1]:
            # The hair reaches the region's top: look again up to the picture's top.
            roi = (roi[0], vis[1], roi[2], roi[3])
            alpha = self._segment(small, roi)
            local = face.transformed(1.0, -roi[0], -roi[1])
            top = hair_top_from_alpha(
                alpha, local.face_cx, local.face_width, local.eye_y, self.opt.hair_threshold
            )
        touch_top, left_y, right_y = edge_contacts(alpha, local.face_cx, local.face_width)
        x0, y0, x1, _ = roi
        fw = face.face_width

        def dy(y: float | None) -> float | None:
            return None if y is None else (y0 + y - face.eye_y) / fw

        c = _HeadCache(
            eye=np.array([face.eye_cx, face.eye_y]),
            face_width=fw,
            hair_dy=dy(top),
            touch_top=touch_top and y0 <= vis[1],
            left_dy=dy(left_y) if x0 <= vis[0] else None,
            right_dy=dy(right_y) if x1 >= vis[2] else None,
            alpha=alpha,
            origin=(x0, y0),
            vis=vis,
        )
        self._head_cache = c
        return c

    def _segment(self, small: NDArray[Any], roi: Rect) -> NDArray[Any]:
        x0, y0, x1, y1 = roi
        crop = np.ascontiguousarray(small[y0:y1, x0:x1])
        alpha = analysis.segment(crop, self.models)
        self.segmentations += 1
        return alpha

    def _sharpness_value(self, f: _Frame) -> float:
        """The still's sharpness item on the face as the output file will hold it.

        The face region of the full-resolution frame is brought to the scale of
        the 480x640 output (the plan's scale, or the target face width), where
        the still measures it.
        """
        plan = f.cache.get("plan")
        out_per_small = (
            plan.scale
            if isinstance(plan, Plan)
            else self.spec.target_face_width / f.face.face_width
        )
        # Enlarged where the preview has fewer pixels than the output: a preview that
        # cannot show the detail reads as blurred (the still may be sharper: "hold
        # still" is then shown in vain, but "ready" is never given to a blurred still).
        out_per_frame = out_per_small * f.k
        f.cache["enlarge"] = out_per_frame
        face = f.face.transformed(1 / f.k)
        fh, fw = f.frame.shape[:2]
        x0, y0, x1, y1 = check.face_region(face, fw, fh)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return 0.0
        pad = 2
        roi = f.frame[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad]
        gray = cv2.cvtColor(np.ascontiguousarray(roi), cv2.COLOR_RGB2GRAY)
        _light(self, f)
        curve = f.cache["curve"]
        if curve is not None:  # the still measures sharpness after its tone correction
            gray = cv2.LUT(gray, curve.lut())
        size = (
            max(4, round(gray.shape[1] * out_per_frame)),
            max(4, round(gray.shape[0] * out_per_frame)),
        )
        interp = cv2.INTER_AREA if out_per_frame < 1 else cv2.INTER_LINEAR
        out = cv2.resize(gray, size, interpolation=interp)
        p = max(1, round(pad * out_per_frame))
        out = out[p:-p, p:-p] if out.shape[0] > 2 * p + 4 and out.shape[1] > 2 * p + 4 else out
        return float(cv2.Laplacian(out, cv2.CV_32F).var())

    def _towards_centre(self, f: _Frame) -> str:
        # Camera image-left is the student's right; to reach the middle they move to their left.
        mid = (f.vis[0] + f.vis[2]) / 2
        return "move_left" if f.face.face_cx < mid else "move_right"

    # -- hysteresis --------------------------------------------------------------

    def update(self, frame_rgb: NDArray[Any]) -> Advice:
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


def _pose_check(name: str) -> Callable[[Guide, _Frame, dict[str, Any]], tuple[str, ...] | None]:
    """The check of one pose item; a failure only inside the margin is marked "margin"."""

    def fn(guide: Guide, f: _Frame, detail: dict[str, Any]) -> tuple[str, ...] | None:
        own, tight = guide._pose_items(f)
        item = own[name]
        if item.verdict != "fail":
            item = tight[name]
            if item.verdict != "fail":
                return None
        sure = () if own[name].verdict == "fail" else ("margin",)
        if name == "pupil_tilt":
            return ("straighten", "tilt_right" if f.face.roll > 0 else "tilt_left", *sure)
        if name == "yaw":
            return ("turn_face", "none", *sure)
        if name == "pitch":
            arrow = ("chin_down", "down") if item.reason == "low" else ("chin_up", "up")
            return (*arrow, *sure)
        if name == "eyes_open":
            return ("open_eyes", "none", *sure)
        return ("close_mouth", "none", *sure)

    return fn


def _light(guide: Guide, f: _Frame) -> dict[str, Any]:
    """The still's light items on this frame, after the still's own tone correction.

    The still corrects a dim or bright capture with one global tone curve
    (``kiosk.photo.exposure``) when the face can be brought into the exposure
    band, and judges sharpness, exposure and balance on the corrected pixels.
    Guidance plans the same curve on the preview's face: when one exists, the
    exposure is the still's business, not the student's, and the other light
    items are measured after it. Only a face no curve can save is "lighting".
    """
    if "light" not in f.cache:
        gray = cv2.cvtColor(f.small, cv2.COLOR_RGB2GRAY)
        h, w = gray.shape[:2]
        x0, y0, x1, y1 = check.face_region(f.face, w, h)
        curve = None
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            curve = exposure.plan_curve(gray[y0:y1, x0:x1], guide.spec)
        if curve is not None:
            gray = cv2.LUT(gray, curve.lut())
        f.cache["curve"] = curve
        f.cache["light"] = {i.name: i for i in check.light_items(gray, f.face, guide.spec)}
    light: dict[str, Any] = f.cache["light"]
    return light


def _light_check(name: str) -> Callable[[Guide, _Frame, dict[str, Any]], tuple[str, ...] | None]:
    """Exposure or illumination balance, measured as the still measures them."""

    def fn(guide: Guide, f: _Frame, detail: dict[str, Any]) -> tuple[str, ...] | None:
        item = _light(guide, f).get(name)
        curve = f.cache.get("curve")
        if curve is not None and "gamma" not in detail:
            detail["gamma"] = round(curve.gamma, 2)
        if item is not None and item.verdict == "fail":
            detail[name] = item.value
            return "lighting", "none"
        return None

    return fn


Guide._checks = {
    "face_cut": Guide._face_cut,
    **{n: _pose_check(n) for n in ("pupil_tilt", "yaw", "pitch", "eyes_open", "mouth_closed")},
    "framing": Guide._framing,
    "sharpness": Guide._sharpness,
    "exposure": _light_check("exposure"),
    "illumination_balance": _light_check("illumination_balance"),
    "clothing": Guide._clothing,
    "matte_spill": Guide._busy_background,
}


def _expected_box(spec: Spec, face: Face, hair_top: float) -> tuple[float, float, float, float]:
    """Roughly where the still's crop will be (frame px), as the pipeline guesses it."""
    s = spec.target_face_width / face.face_width
    y0 = hair_top - (spec.hair_top[0] + spec.hair_top[1]) / 2 / s
    x0 = face.face_cx - spec.width / (2 * s)
    return (x0, y0, x0 + spec.width / s, y0 + spec.height / s)


def _grown(box: tuple[float, float, float, float], vis: Rect) -> Rect:
    """The box grown as the pipeline grows its segmentation region, clipped to the picture."""
    x0, y0, x1, y1 = box
    gx, gy = 0.35 * (x1 - x0), 0.2 * (y1 - y0)
    return (
        int(max(vis[0], x0 - gx)),
        int(max(vis[1], y0 - gy)),
        int(min(vis[2], x1 + gx)),
        int(min(vis[3], y1 + gy)),
    )


def _gaze_off(face: Face, limit: float = 0.16) -> bool:
    """Irises far from the middle of the eyes: looking away from the lens."""
    p = face.pts
    offs = []
    for outer, inner, iris in ((33, 133, 468), (263, 362, 473)):
        mid = (p[outer, 0] + p[inner, 0]) / 2
        width = abs(p[outer, 0] - p[inner, 0])
        offs.append((p[iris, 0] - mid) / max(width, 1e-6))
    return abs(float(np.mean(offs))) > limit


def letterbox(rgb: NDArray[Any], size: tuple[int, int] = (1280, 720)) -> NDArray[Any]:
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
