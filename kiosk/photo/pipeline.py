"""From a capture to a compliant photo: swappable steps on one job object.

decode → analyse → frame → plan → matte → compose → encode → verify. Each step
reads and writes the ``PhotoJob``; a booth or a test can replace one step
(``Pipeline.replace``) without touching the others. The final file is checked
again with the same checks the center runs; a photo that would be rejected is
never returned, it raises ``PhotoRefused`` with the report and the instruction
that would fix it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kiosk import notices
from kiosk.errors import KioskError
from kiosk.photo import analysis, check, exposure, matte_clean, matting
from kiosk.photo.analysis import Face
from kiosk.photo.crop import FramingError, Head, Plan, edge_contacts, hair_top_from_alpha, solve
from kiosk.photo.encode import Encoded, encode
from kiosk.photo.imageio import Limits, Source, UnreadableImage, open_source
from kiosk.photo.master import Master
from kiosk.photo.report import Item, Report, at_most, make_item
from kiosk.photo.spec import Spec, load_spec


class PhotoRefused(KioskError):
    """The input cannot make a compliant photo; ``report`` says why and what to do."""

    def __init__(self, report: Report) -> None:
        first = report.failures[0] if report.failures else None
        super().__init__(
            first.name if first else "noncompliant",
            *((first.zh, first.en) if first else notices.words("noncompliant")),
            "failed: " + ", ".join(f"{i.name}={i.value}" for i in report.failures),
        )
        self.report = report


@dataclass
class PhotoResult:
    jpeg: bytes
    report: Report
    master: Master
    quality: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Options:
    model_max_side: int = 640
    master_height: int = 1600
    master_source_ratio: float = 0.6
    crop_fill_guess: float = 0.7
    limits: Limits = field(default_factory=Limits)  # what the decode step accepts


@dataclass
class PhotoJob:
    """One capture on its way through the steps: what each step read, measured and made."""

    spec: Spec
    options: Options
    raw: bytes | Path
    source: Source | None = None
    small: NDArray[Any] | None = None  # whole picture for the models, <= model_max_side
    small_scale: float = 1.0  # small px per source px
    face: Face | None = None  # in source px
    hi: NDArray[Any] | None = None  # decoded at reduced DCT scale, enough for the master
    hi_scale: float = 1.0
    roi: tuple[int, int, int, int] | None = None  # in hi px
    roi_alpha: NDArray[Any] | None = None  # person alpha over the roi, at model size
    roi_alpha_scale: float = 1.0  # roi_alpha px per hi px
    head: Head | None = None
    plan: Plan | None = None
    master_rgb: NDArray[Any] | None = None
    matte: matting.Matte | None = None
    master: Master | None = None
    output: NDArray[Any] | None = None
    encoded: Encoded | None = None
    report: Report | None = None
    timings: dict[str, float] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)  # input-side findings
    notes: list[Any] = field(default_factory=list)  # what the kiosk did, added to the final report
    face_master: Face | None = None  # the face in master px
    curve: exposure.ToneCurve | None = None  # the global tone curve applied to every decode
    recleaned: bool = False

    def refuse(self) -> PhotoRefused:
        return PhotoRefused(Report(self.spec.name, list(self.items), self.spec.reason_order))


Step = Callable[[PhotoJob], None]


# --- steps -----------------------------------------------------------------


def step_decode(ctx: PhotoJob) -> None:
    """Decode once, at the scale the master will most likely need.

    Entropy decoding costs the same at every DCT scale, so one decode at a good
    guess beats a tiny one for the models plus a second one for the master.
    The guess assumes the crop fills ``crop_fill_guess`` of the picture's
    height, as at a booth; ``frame`` decodes again only if that was too low.
    """
    limits = ctx.options.limits
    # A picture that decodes but is too small is a photo that cannot be used, not an
    # unreadable file: refused like any other non-compliant capture (exit 1).
    ctx.source = src = open_source(ctx.raw, replace(limits, min_side=1))
    if min(src.size) < limits.min_side:
        w, h = src.size
        ctx.items.append(
            make_item("image_size", f"{w}x{h}", f"≥ {limits.min_side} px", "fail", "low")
        )
        raise ctx.refuse()
    o = ctx.options
    for_models = o.model_max_side / max(src.size)
    for_master = o.master_source_ratio * o.master_height / (o.crop_fill_guess * src.size[1])
    rgb, scale = src.decode(min(1.0, max(for_models, for_master)))
    ctx.hi, ctx.hi_scale = rgb, scale
    ctx.small, _ = analysis.resize_max(rgb, o.model_max_side)
    ctx.small_scale = ctx.small.shape[1] / src.size[0]


def _face_gray(ctx: PhotoJob, face: Face) -> tuple[NDArray[Any], Face]:
    """The face's surroundings, grey, at the size the face will have in the photo.

    Sharpness and exposure are judged where the student can still act on them,
    before pose: a blurred or dark capture makes the face mesh misread tilt and
    turn, and the student should be told to hold still or call for light, not
    to straighten a head that was straight.
    """
    spec = ctx.spec
    assert ctx.hi is not None  # step_decode made it
    f_hi = face.transformed(ctx.hi_scale / ctx.small_scale)
    H, W = ctx.hi.shape[:2]
    fw = max(f_hi.face_width, 1.0)
    x0, x1 = int(max(0, f_hi.face_cx - 0.9 * fw)), int(min(W, f_hi.face_cx + 0.9 * fw))
    y0, y1 = int(max(0, f_hi.forehead_y - 0.6 * fw)), int(min(H, f_hi.chin_y + 0.3 * fw))
    crop = ctx.hi[y0:y1, x0:x1]
    # Never enlarged here: a far-away face is a framing matter (and soft_upscale's warning),
    # not blur of the capture.
    k = min(1.0, spec.target_face_width / fw)
    crop = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 0.98 else crop
    local = f_hi.transformed(k, -x0 * k, -y0 * k)
    return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), local


def _correct_exposure(ctx: PhotoJob, face: Face) -> bool:
    """One global tone curve when the face's exposure is out of band but can be saved."""
    gray, local = _face_gray(ctx, face)
    x0, y0, x1, y1 = check.face_region(local, gray.shape[1], gray.shape[0])
    curve = exposure.plan_curve(gray[y0:y1, x0:x1], ctx.spec)
    if curve is None:
        return False
    ctx.curve = curve
    assert ctx.hi is not None and ctx.small is not None  # step_decode made them
    ctx.hi = curve.apply(ctx.hi)
    ctx.small = curve.apply(ctx.small)
    ctx.notes.append(
        make_item(
            "exposure_corrected",
            round(curve.gamma, 2),
            f"{curve.before:.0f} → {curve.after:.0f}",
            "pass",
            "dark" if curve.gamma < 1 else "bright",
        )  # fmt: skip
    )
    return True


def step_analyse(ctx: PhotoJob) -> None:
    spec = ctx.spec
    assert ctx.small is not None  # step_decode made it
    a = analysis.analyse(ctx.small, rules=spec.faces)
    ctx.items.append(check.count_item(a.face_count))
    if a.face_count != 1 or a.face is None:
        raise ctx.refuse()
    h, w = ctx.small.shape[:2]
    cut = check.face_cut_item(a.face, w, h)
    ctx.items.append(cut)
    if cut.verdict == "fail":
        raise ctx.refuse()
    face = a.face
    if _correct_exposure(ctx, face):
        # Landmarks found on a dim picture are less sure: find them again on the corrected one.
        again = analysis.analyse(ctx.small, count=False)
        face = again.face if again.face is not None else face
    gray, local = _face_gray(ctx, face)
    light = [i for i in check.light_items(gray, local, spec) if i.name != "illumination_balance"]
    pose = check.pose_items(face, spec)
    ctx.items += light + pose
    if any(i.verdict == "fail" for i in light + pose):
        raise ctx.refuse()
    ctx.face = face.transformed(1 / ctx.small_scale)


def _expected_box(spec: Spec, face: Face, hair_top: float) -> tuple[float, float, float, float]:
    """Roughly where the crop will be (source px), before the hair top is known exactly."""
    s = spec.target_face_width / face.face_width
    mid_hair = (spec.hair_top[0] + spec.hair_top[1]) / 2
    y0 = hair_top - mid_hair / s
    x0 = face.face_cx - spec.width / (2 * s)
    return (x0, y0, x0 + spec.width / s, y0 + spec.height / s)


def _segment_roi(ctx: PhotoJob, box: tuple[float, float, float, float]) -> None:
    """Person alpha over ``box`` (source px) grown by a third, from the hi-res decode."""
    hs = ctx.hi_scale
    x0, y0, x1, y1 = (v * hs for v in box)
    gx, gy = 0.35 * (x1 - x0), 0.2 * (y1 - y0)
    assert ctx.hi is not None  # step_decode or step_frame made it
    H, W = ctx.hi.shape[:2]
    roi = (int(max(0, x0 - gx)), int(max(0, y0 - gy)), int(min(W, x1 + gx)), int(min(H, y1 + gy)))
    crop = ctx.hi[roi[1] : roi[3], roi[0] : roi[2]]
    small, k = analysis.resize_max(crop, ctx.options.model_max_side)
    coarse = analysis.segment(small)
    ctx.roi = roi
    ctx.roi_alpha = matting.refine_alpha(small, coarse)
    ctx.roi_alpha_scale = k


def step_frame(ctx: PhotoJob) -> None:
    """Decode at the resolution the master needs and segment the region around the head."""
    face, src = ctx.face, ctx.source
    assert face is not None and src is not None  # step_analyse and step_decode ran
    box = _expected_box(ctx.spec, face, face.crown_estimate)
    crop_h = box[3] - box[1]
    need = min(1.0, ctx.options.master_source_ratio * ctx.options.master_height / max(crop_h, 1.0))
    if ctx.hi is None or ctx.hi_scale < need * 0.98:
        ctx.hi = None  # free the first decode before the second
        ctx.hi, ctx.hi_scale = src.decode(need)
        if ctx.curve is not None:  # the same global curve on the new decode
            ctx.hi = ctx.curve.apply(ctx.hi)
    _segment_roi(ctx, box)


def _head_from_alpha(ctx: PhotoJob) -> Head:
    face, src = ctx.face, ctx.source
    assert face is not None and src is not None and ctx.hi is not None  # earlier steps ran
    assert ctx.roi is not None and ctx.roi_alpha is not None  # _segment_roi ran
    k = ctx.roi_alpha_scale * ctx.hi_scale  # roi_alpha px per source px
    rx, ry = ctx.roi[0] / ctx.hi_scale, ctx.roi[1] / ctx.hi_scale  # roi origin, source px
    local = face.transformed(k, -rx * k, -ry * k)
    top = hair_top_from_alpha(ctx.roi_alpha, local.face_cx, local.face_width, local.eye_y)
    hair = ry + (top / k if top is not None else face.crown_estimate - ry)
    touch_top, left_y, right_y = edge_contacts(ctx.roi_alpha, local.face_cx, local.face_width)
    H, W = ctx.hi.shape[:2]
    if top is not None and top <= 1 and ctx.roi[1] > 0:
        touch_top = False  # the roi, not the picture, cuts the hair: grown and retried by plan
    return Head(
        eye_y=face.eye_y,
        hair_top=hair,
        face_width=face.face_width,
        face_cx=face.face_cx,
        src_w=src.size[0],
        src_h=src.size[1],
        touch_top=touch_top and ctx.roi[1] == 0,
        touch_left_y=ry + left_y / k if left_y is not None and ctx.roi[0] == 0 else None,
        touch_right_y=ry + right_y / k if right_y is not None and ctx.roi[2] >= W else None,
    )


def _inside_roi(ctx: PhotoJob, box: tuple[float, float, float, float]) -> bool:
    assert ctx.hi is not None and ctx.roi is not None  # step_frame ran
    H, W = ctx.hi.shape[:2]
    x0, y0, x1, y1 = (v * ctx.hi_scale for v in box)
    rx0, ry0, rx1, ry1 = ctx.roi
    return (
        (x0 >= rx0 or rx0 == 0)
        and (y0 >= ry0 or ry0 == 0)
        and (x1 <= rx1 or rx1 >= W)
        and (y1 <= ry1 or ry1 >= H)
    )


def step_plan(ctx: PhotoJob) -> None:
    """Solve the crop from the measured hair top; re-segment until the roi holds the crop.

    The first roi came from the hair-top estimate; a bun or a high ponytail can
    reach above it, so the roi is redone around the planned crop (at most
    twice) and the plan solved again on the new alpha. The matte then never
    lacks alpha inside the crop.
    """
    assert ctx.face is not None  # step_analyse ran
    for attempt in range(3):
        ctx.head = _head_from_alpha(ctx)
        try:
            ctx.plan = solve(ctx.spec, ctx.head)
        except FramingError as exc:
            if attempt == 0 and exc.reason in ("too_close", "shoulders_cut", "head_cut"):
                # The roi may have been too small to see the edges: look again, wider.
                box = _expected_box(ctx.spec, ctx.face, ctx.head.hair_top)
                _segment_roi(ctx, _grow(box, 0.3))
                continue
            ctx.items.append(make_item("framing", exc.reason, "", "fail", exc.reason))
            raise ctx.refuse() from None
        if _inside_roi(ctx, ctx.plan.box):
            break
        _segment_roi(ctx, ctx.plan.box)  # grown around the crop: holds it from now on
    ctx.items.append(make_item("framing", "ok", "", "pass"))


def _grow(box: tuple[float, float, float, float], f: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    gx, gy = f * (x1 - x0), f * (y1 - y0)
    return (x0 - gx, y0 - gy, x1 + gx, y1 + gy)


def step_matte(ctx: PhotoJob) -> None:
    spec, plan = ctx.spec, ctx.plan
    assert plan is not None and ctx.hi is not None  # step_plan ran
    assert ctx.roi is not None and ctx.roi_alpha is not None
    mh = ctx.options.master_height
    mw = round(mh * spec.width / spec.height)
    out_scale = mh / spec.height
    # source -> master, then expressed on the hi-res decode
    k = plan.scale * out_scale / ctx.hi_scale
    hi = ctx.hi
    pre = 1.0
    if k < 0.7:  # strong reduction: area-average first so the warp does not alias
        pre = min(1.0, k / 0.9)
        hi = cv2.resize(hi, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
    kk = k / pre
    tx = -plan.x0 * plan.scale * out_scale
    ty = -plan.y0 * plan.scale * out_scale
    m_img = np.array([[kk, 0, tx], [0, kk, ty]], np.float64)
    ctx.master_rgb = cv2.warpAffine(
        hi, m_img, (mw, mh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    # The roi alpha, placed into the master frame at matting's work size; outside
    # the picture is background.
    ws = matting.work_scale(mh, mw)
    ka = k / ctx.roi_alpha_scale * ws
    ax = (tx + ctx.roi[0] * k) * ws
    ay = (ty + ctx.roi[1] * k) * ws
    m_a = np.array([[ka, 0, ax], [0, ka, ay]], np.float64)
    size_a = (max(1, round(mw * ws)), max(1, round(mh * ws)))
    coarse = cv2.warpAffine(ctx.roi_alpha, m_a, size_a, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))  # fmt: skip
    ctx.matte = matting.matte(ctx.master_rgb, coarse)


CLEAN_ROUNDS = 4


def step_compose(ctx: PhotoJob) -> None:
    spec, plan = ctx.spec, ctx.plan
    assert plan is not None and ctx.face is not None  # step_plan ran
    assert ctx.master_rgb is not None and ctx.matte is not None  # step_matte ran
    img = matting.composite(ctx.master_rgb, ctx.matte, spec.bg_rgb)
    out_scale = img.shape[0] / spec.height
    face = ctx.face.transformed(
        plan.scale * out_scale, -plan.x0 * plan.scale * out_scale, -plan.y0 * plan.scale * out_scale
    )
    # Taking a patch of spill out can bare the next one, or leave a piece afloat.
    # The cleaning judges the composite at the spec's size: the same reduction as
    # the output's, made once and kept when nothing changed.
    small = _spec_size(img, spec)
    for _ in range(CLEAN_ROUNDS):
        changed = matte_clean.clean(ctx.matte, img, face, spec, ctx.master_rgb, judged=small)
        if changed:
            img = matting.composite(ctx.master_rgb, ctx.matte, spec.bg_rgb)
            small = _spec_size(img, spec)
        if changed != "reshaped":
            break
    ctx.face_master = face
    _finish(ctx, img, small)


def _spec_size(img: NDArray[Any], spec: Spec) -> NDArray[Any]:
    return cv2.resize(img, (spec.width, spec.height), interpolation=cv2.INTER_AREA)


def _finish(ctx: PhotoJob, img: NDArray[Any], output: NDArray[Any] | None = None) -> None:
    """Master (with its geometry) and the spec-size output from a composite.

    ``output`` is ``img`` already reduced to the spec's size, when the caller has it.
    """
    spec, plan, face = ctx.spec, ctx.plan, ctx.face_master
    assert plan is not None and face is not None and ctx.matte is not None  # step_compose ran
    out_scale = img.shape[0] / spec.height
    crown = hair_top_from_alpha(ctx.matte.alpha, face.face_cx, face.face_width, face.eye_y)
    geometry = {
        "eye_y": face.eye_y,
        "crown_y": crown if crown is not None else plan.hair_top * out_scale,
        "chin_y": face.chin_y,
        "face_cx": face.face_cx,
        "face_width": face.face_width,
    }
    ctx.master = Master(Image.fromarray(img, "RGB"), geometry)
    ctx.output = output if output is not None else _spec_size(img, spec)


def step_encode(ctx: PhotoJob) -> None:
    assert ctx.output is not None  # step_compose ran
    ctx.encoded = encode(ctx.output, ctx.spec)


def _upscale_item(ctx: PhotoJob) -> Item:
    """Output px per source px: beyond the spec's warning the face is soft from enlargement."""
    q = ctx.spec.quality
    assert ctx.plan is not None  # step_plan ran
    return at_most(
        "soft_upscale", round(ctx.plan.scale, 2), ctx.spec.max_upscale, q["upscale_warn"], "×"
    )


def step_verify(ctx: PhotoJob) -> None:
    """The center's checks on the encoded file itself (decoded again, not our pixels)."""
    assert ctx.encoded is not None  # step_encode ran
    data = ctx.encoded.data
    im = Image.open(io.BytesIO(data))
    head = check.file_items(data, im, ctx.spec)
    report = check.check_rgb(np.asarray(im.convert("RGB")), ctx.spec, head)
    report.items += ctx.notes + [_upscale_item(ctx)]
    ctx.report = report
    if not report.ok and _clean_again(ctx, report, np.asarray(im.convert("RGB"))):
        step_encode(ctx)
        step_verify(ctx)
        return
    if not report.ok:
        raise PhotoRefused(report)


def _clean_again(ctx: PhotoJob, report: Report, decoded: NDArray[Any]) -> bool:
    """Once: when only the matte failed, clean it by what the file itself shows.

    JPEG's noise can cut the faint link of a piece to the person, or show a
    hole the composite did not; the file is what the center judges.
    """
    if ctx.recleaned or ctx.matte is None or ctx.face_master is None:
        return False
    if any(not i.name.startswith("matte_") for i in report.failures):
        return False
    ctx.recleaned = True
    assert ctx.master is not None and ctx.master_rgb is not None  # step_compose ran
    img = np.asarray(ctx.master.image)  # the last composite
    if not matte_clean.clean(
        ctx.matte, img, ctx.face_master, ctx.spec, ctx.master_rgb, judged=decoded
    ):
        return False
    _finish(ctx, matting.composite(ctx.master_rgb, ctx.matte, ctx.spec.bg_rgb))
    return True


STEPS: list[tuple[str, Step]] = [
    ("decode", step_decode),
    ("analyse", step_analyse),
    ("frame", step_frame),
    ("plan", step_plan),
    ("matte", step_matte),
    ("compose", step_compose),
    ("encode", step_encode),
    ("verify", step_verify),
]


class Pipeline:
    def __init__(
        self, steps: list[tuple[str, Step]] | None = None, options: Options | None = None
    ) -> None:
        self.steps = list(steps or STEPS)
        self.options = options

    def replace(self, name: str, step: Step) -> Pipeline:
        names = [n for n, _ in self.steps]
        if name not in names:
            raise KeyError(f"no step {name!r}; steps: {names}")
        self.steps[names.index(name)] = (name, step)
        return self

    def run(self, source: bytes | Path | str, spec: Spec | None = None) -> PhotoResult:
        raw = Path(source) if isinstance(source, str) else source
        ctx = PhotoJob(spec or load_spec(), self.options or Options(), raw)
        for name, step in self.steps:
            t0 = time.perf_counter()
            step(ctx)
            ctx.timings[name] = time.perf_counter() - t0
        assert ctx.encoded is not None and ctx.report is not None and ctx.master is not None
        return PhotoResult(
            ctx.encoded.data, ctx.report, ctx.master, ctx.encoded.quality, ctx.timings
        )


__all__ = ["PhotoRefused", "PhotoResult", "Pipeline", "UnreadableImage", "make_photo", "warm_up"]

_default = Pipeline()


def warm_up() -> None:
    """Create this thread's models and run each once: call at start, not on the first student."""
    analysis.warm_up()
    rgb = np.full((64, 48, 3), 128, np.uint8)
    coarse = np.zeros((64, 48), np.float32)
    coarse[16:, 12:36] = 1.0
    matting.matte(rgb, coarse)


def make_photo(source: bytes | Path | str, spec: Spec | None = None,
               options: Options | None = None) -> PhotoResult:
    """A compliant 480x640 photo from a capture, or ``PhotoRefused`` / ``UnreadableImage``.

    ``spec`` and ``options`` come from the program's settings
    (``kiosk.wiring.photo_spec``, ``photo_options``); without them, the standard's
    own spec and the built-in options.
    """
    return (Pipeline(options=options) if options else _default).run(source, spec)
