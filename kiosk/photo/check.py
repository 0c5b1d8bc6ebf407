"""The compliance checks, measured from a JPEG file itself.

The kiosk runs them on its own output and the center runs them on uploads, so
they must judge any JPEG and stay fast (one face-detector pass, one mesh, one
segmentation at 480x640). Geometry is measured in the spec's pixel frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kiosk.photo import analysis
from kiosk.photo.analysis import Analysis, Face
from kiosk.photo.crop import hair_top_from_alpha
from kiosk.photo.flatness import flat_region_item
from kiosk.photo.matte_check import matte_items
from kiosk.photo.report import Item, Report, at_least, at_most, band, make_item
from kiosk.photo.spec import Spec, load_spec

if TYPE_CHECKING:
    from kiosk.photo.imageio import Limits

# Standard libjpeg luminance quantisation table (zig-zag order as Pillow reports it
# is not needed: both are compared in the same order, natural order below).
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], np.float64)  # fmt: skip
EYE_BOXES = ((33, 133, 159, 145, 70, 105), (263, 362, 386, 374, 300, 334))


def estimate_quality(im: Image.Image) -> int | None:
    """The libjpeg quality factor whose luminance table is closest to the file's."""
    q = getattr(im, "quantization", None)
    if not q or 0 not in q:
        return None
    table = np.array(q[0], np.float64)
    if table.size != 64:
        return None
    best, best_err = None, float("inf")
    for quality in range(1, 101):
        scale = 5000 / quality if quality < 50 else 200 - 2 * quality
        std = np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)
        err = float(np.abs(np.sort(std) - np.sort(table)).sum())
        if err < best_err:
            best, best_err = quality, err
    return best


@dataclass
class Geometry:
    """Head geometry in the spec's pixel frame."""

    hair_top: float | None
    eye_line: float
    face_width: float
    centre_offset: float


def pose_items(face: Face, spec: Spec, factor: float = 1.0) -> list[Item]:
    """Pose items from a face in any coordinates (all are scale-free).

    ``factor`` < 1 tightens the limits (guidance demands a margin).
    """
    p = spec.pose
    pitch = face.pitch_raw - p["pitch_offset"]
    return [
        at_most("pupil_tilt", face.roll, p["roll_max"] * factor, p["roll_warn"] * factor, "°"),
        at_most("yaw", face.yaw, p["yaw_max"] * factor, p["yaw_warn"] * factor, "°"),
        at_most("pitch", pitch, p["pitch_max"] * factor, p["pitch_warn"] * factor, "°"),
        at_least(
            "eyes_open", face.eye_open, p["eye_open_min"] / max(factor, 1e-3), p["eye_open_warn"]
        ),
        at_most(
            "mouth_closed",
            face.mouth_open,
            p["mouth_open_max"] * factor,
            p["mouth_open_warn"] * factor,
        ),
    ]


def geometry_items(g: Geometry, spec: Spec, margin: float = 0.0) -> list[Item]:
    m = margin
    items = []
    if g.hair_top is None:
        items.append(
            make_item(
                "hair_top", None, f"{spec.hair_top[0]:g}–{spec.hair_top[1]:g} px", "fail", "low"
            )
        )
    else:
        items.append(band("hair_top", g.hair_top, spec.hair_top[0] + m, spec.hair_top[1] - m))
    items.append(band("eye_line", g.eye_line, spec.eye_line[0] + m, spec.eye_line[1] - m))
    items.append(band("face_width", g.face_width, spec.face_width[0] + m, spec.face_width[1] - m))
    items.append(
        at_most("centring", g.centre_offset, max(0.0, spec.centre_tolerance - m), None, " px")
    )
    return items


def count_item(n: int) -> Item:
    if n == 1:
        return make_item("single_face", 1, "= 1", "pass")
    return make_item("single_face", n, "= 1", "fail", "low" if n == 0 else "high")


def face_cut_item(face: Face, w: int, h: int) -> Item:
    out = face.outside_fraction(w, h)
    return make_item("face_cut", out, "≤ 0.02", "fail" if out > 0.02 else "pass")


def face_region(face: Face, w: int, h: int) -> tuple[int, int, int, int]:
    """Inner face: between the cheeks, from the brows to the mouth."""
    p = face.pts
    x0 = p[234, 0] + 0.12 * face.face_width
    x1 = p[454, 0] - 0.12 * face.face_width
    y0 = min(p[105, 1], p[334, 1])
    y1 = p[14, 1]
    return (int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1)))


def _linear(gray: NDArray[Any]) -> NDArray[Any]:
    """sRGB-encoded values to linear light (0..1): ratios of light, not of code values."""
    v = gray.astype(np.float32) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def balance(gray: NDArray[Any], face: Face) -> float:
    """Left/right light difference over the two halves of the inner face, in linear light.

    Each half runs from the brows to the mouth and from the cheek to beside the
    nose (the nose's own shading is left out); its median is robust to a
    smile's highlight or a strand of hair. In linear light a dim but even face
    reads like a bright even one: the ratio does not move with exposure.
    """
    h, w = gray.shape[:2]
    x0, y0, x1, y1 = face_region(face, w, h)
    cx = face.face_cx
    gap = 0.08 * face.face_width
    left = gray[y0:y1, x0 : int(max(x0, cx - gap))]
    right = gray[y0:y1, int(min(x1, cx + gap)) : x1]
    if left.size < 20 or right.size < 20:
        return 0.0
    a, b = float(np.median(_linear(left))), float(np.median(_linear(right)))
    return abs(a - b) / max(a, b, 1e-4)


def light_items(gray: NDArray[Any], face: Face, spec: Spec) -> list[Item]:
    """Sharpness, exposure and left/right balance from the grey image (cheap: guidance uses it)."""
    q = spec.quality
    h, w = gray.shape[:2]
    x0, y0, x1, y1 = face_region(face, w, h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        bx, by, bw, bh = face.box
        x0, y0, x1, y1 = (
            int(max(0, bx)),
            int(max(0, by)),
            int(min(w, bx + bw)),
            int(min(h, by + bh)),
        )
    roi = gray[y0 : max(y0 + 1, y1), x0 : max(x0 + 1, x1)]
    sharp = float(cv2.Laplacian(roi, cv2.CV_32F).var()) if roi.size else 0.0
    items = [at_least("sharpness", sharp, q["sharpness_min"], q["sharpness_warn"])]
    lum = float(roi.mean()) if roi.size else 0.0
    clipped = float(((roi <= 2) | (roi >= 253)).mean()) if roi.size else 1.0
    lo, hi = q["exposure"]
    if clipped > q["clipped_max"]:
        items.append(
            make_item("exposure", lum, f"{lo:g}–{hi:g}", "fail", "high" if lum > 128 else "low")
        )
    else:
        items.append(band("exposure", lum, lo, hi, ""))
    bal = balance(gray, face)
    items.append(at_most("illumination_balance", bal, q["balance_max"], q["balance_warn"]))
    return items


def image_items(rgb: NDArray[Any], face: Face, person: NDArray[Any], spec: Spec) -> list[Item]:
    """Sharpness, exposure, cheek balance, background, clothing and glare."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    items = light_items(gray, face, spec)
    items += background_items(rgb, face, person, spec)
    items.append(glare_item(rgb, face, spec))
    return items


def background_items(rgb: NDArray[Any], face: Face, person: NDArray[Any], spec: Spec) -> list[Item]:
    q = spec.quality
    h, w = rgb.shape[:2]
    img = rgb.astype(np.float32)
    grow = cv2.dilate((person > 0.05).astype(np.uint8), np.ones((9, 9), np.uint8))
    bg_mask = grow == 0
    items: list[Item] = []
    if bg_mask.sum() < 0.02 * h * w:
        items.append(make_item("background", None, f"σ ≤ {spec.bg_max_std:g}", "fail"))
        items.append(make_item("background_colour", None, _colour_names(spec), "fail"))
        bg_mean = np.array(spec.bg_rgb, np.float32)
    else:
        px = img[bg_mask]
        bg_mean = px.mean(axis=0)
        std = float(px.std(axis=0).mean())
        patches = []
        for ys, xs in ((slice(0, h // 3), slice(0, w // 4)), (slice(0, h // 3), slice(3 * w // 4, w)),
                       (slice(0, h // 6), slice(w // 4, 3 * w // 4)),
                       (slice(h // 3, 2 * h // 3), slice(0, w // 6)),
                       (slice(h // 3, 2 * h // 3), slice(5 * w // 6, w))):  # fmt: skip
            mk = bg_mask[ys, xs]
            if mk.sum() > 50:
                patches.append(img[ys, xs][mk].mean(axis=0))
        grad = max(
            (float(np.linalg.norm(a - b)) for i, a in enumerate(patches) for b in patches[i + 1 :]),
            default=0.0,
        )
        verdict = "fail" if std > spec.bg_max_std or grad > spec.bg_max_gradient else "pass"
        items.append(make_item("background", round(max(std, grad), 1),
                               f"σ ≤ {spec.bg_max_std:g}, Δ ≤ {spec.bg_max_gradient:g}", verdict))  # fmt: skip
        dist = min(
            float(np.linalg.norm(bg_mean - np.array(c, np.float32))) for c in spec.colours.values()
        )
        items.append(make_item("background_colour", round(dist, 1), _colour_names(spec),
                               "fail" if dist > spec.bg_max_distance else "pass"))  # fmt: skip
    # Clothing: the person below the chin, compared with the background colour.
    top = int(min(h, face.chin_y + 0.25 * (face.chin_y - face.forehead_y)))
    body = person[top:] > 0.9
    if body.sum() < 200:
        items.append(make_item("clothing", None, f"≥ {q['clothing_min_fraction']:g}", "pass"))
    else:
        px = img[top:][body]
        diff = np.linalg.norm(px - bg_mean, axis=1) > q["clothing_distance"]
        frac = float(diff.mean())
        items.append(at_least("clothing", frac, q["clothing_min_fraction"]))
    return items


def _colour_names(spec: Spec) -> str:
    return ", ".join(f"{k} {tuple(v)}" for k, v in spec.colours.items())


def glare_item(rgb: NDArray[Any], face: Face, spec: Spec) -> Item:
    h, w = rgb.shape[:2]
    total = bright = 0
    for outer, inner, up, low, brow, _ in EYE_BOXES:
        p = face.pts
        ew = abs(p[outer, 0] - p[inner, 0])
        xa, xb = sorted((p[outer, 0], p[inner, 0]))
        ya = min(p[up, 1], p[brow, 1])
        yb = p[low, 1] + 0.5 * ew
        box = rgb[
            int(max(0, ya)) : int(min(h, yb)),
            int(max(0, xa - 0.3 * ew)) : int(min(w, xb + 0.3 * ew)),
        ]
        if box.size:
            total += box.shape[0] * box.shape[1]
            bright += int((box.min(axis=2) > 235).sum())
    frac = bright / total if total else 0.0
    return make_item("glasses_glare", frac, f"≤ {spec.quality['glare_warn']:g}",
                     "warn" if frac > spec.quality["glare_warn"] else "pass")  # fmt: skip


def measure_hair_top(rgb: NDArray[Any], person: NDArray[Any], face: Face) -> float | None:
    """Hair top from the person mask, sharpened by the colour step from the background."""
    top = hair_top_from_alpha(person, face.face_cx, face.face_width, face.eye_y)
    if top is None:
        return None
    h, w = person.shape
    x0 = int(max(0, face.face_cx - 0.85 * face.face_width))
    x1 = int(min(w, face.face_cx + 0.85 * face.face_width))
    bgm = person < 0.05
    bgm[int(face.eye_y) :] = False
    if bgm.sum() < 100:
        return top
    bg = np.median(rgb[bgm].reshape(-1, 3), axis=0).astype(np.float32)
    r0, r1 = int(max(0, top - 12)), int(min(face.eye_y, top + 12))
    strip = rgb[r0:r1, x0:x1].astype(np.float32)
    if strip.size == 0:
        return top
    far = np.linalg.norm(strip - bg, axis=2) > 40
    need = max(2, int(0.02 * (x1 - x0)))
    rows = np.flatnonzero(far.sum(axis=1) >= need)
    return float(r0 + rows[0]) if rows.size else top


def check_rgb(rgb: NDArray[Any], spec: Spec, head_items: list[Item] | None = None) -> Report:
    """The picture checks on decoded pixels; ``head_items`` are file-level items to prepend."""
    report = Report(spec.name, list(head_items or []), spec.reason_order)
    h, w = rgb.shape[:2]
    work, k = analysis.resize_max(rgb, 640)
    a: Analysis = analysis.analyse(work, rules=spec.faces)
    report.items.append(count_item(a.face_count))
    if a.face_count != 1 or a.face is None:
        return report
    face = a.face.transformed(1 / k)
    cut = face_cut_item(face, w, h)
    report.items.append(cut)
    if cut.verdict == "fail":
        return report
    person = analysis.segment(work)
    if k != 1.0:
        person = cv2.resize(person, (w, h), interpolation=cv2.INTER_LINEAR)
    to_spec = spec.height / h  # geometry is judged in the spec's pixel frame
    hair = measure_hair_top(rgb, person, face)
    g = Geometry(
        hair_top=None if hair is None else hair * to_spec,
        eye_line=face.eye_y * to_spec,
        face_width=face.face_width * to_spec,
        centre_offset=(face.face_cx - w / 2) * to_spec,
    )
    report.items += geometry_items(g, spec)
    report.items += pose_items(face, spec)
    report.items += image_items(rgb, face, person, spec)
    report.items.append(flat_region_item(rgb, face, spec))
    report.items += matte_items(rgb, face, spec)
    return report


def file_items(data: bytes, im: Image.Image, spec: Spec) -> list[Item]:
    items = []
    w, h = im.size
    items.append(make_item("dimensions", f"{w}x{h}", f"{spec.width}x{spec.height}",
                           "pass" if (w, h) == (spec.width, spec.height) else "fail"))  # fmt: skip
    progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    ok_fmt = im.format == "JPEG" and im.mode == "RGB" and not progressive
    fmt = f"{im.format} {im.mode}{' progressive' if progressive else ''}"
    items.append(make_item("file_format", fmt, "JPEG RGB baseline", "pass" if ok_fmt else "fail"))
    dpi = im.info.get("dpi")
    dpi_v = round(float(dpi[0])) if dpi else None
    items.append(
        make_item("resolution", dpi_v, f"{spec.dpi} dpi", "pass" if dpi_v == spec.dpi else "warn")
    )
    quality = estimate_quality(im) if im.format == "JPEG" else None
    items.append(
        make_item("jpeg_quality", quality, f"≥ {spec.min_quality}",
                  "pass" if quality is not None and quality >= spec.min_quality else "fail")
    )  # fmt: skip
    items.append(band("file_size", len(data), spec.size_min_bytes, spec.size_max_bytes, "bytes"))
    return items


def check_jpeg(data: bytes, spec: Spec | None = None, limits: Limits | None = None) -> Report:
    """Judge any JPEG the way the center does. Unreadable input raises ``UnreadableImage``.

    ``spec`` and the decode ``limits`` are the caller's (its settings); without
    them, the standard's own spec and the built-in limits.
    """
    from dataclasses import replace

    from kiosk.photo.imageio import Limits, UnreadableImage, open_source

    spec = spec or load_spec()
    # A small picture that decodes is judged (and fails on its dimensions), not "unreadable".
    src = open_source(data, replace(limits or Limits(), min_side=1))
    try:
        im = Image.open(io.BytesIO(data))
        head = file_items(data, im, spec)
    except OSError as exc:
        raise UnreadableImage(f"cannot read: {exc}") from None
    scale = min(1.0, 1280 / max(src.size))
    rgb, _ = src.decode(scale)
    return check_rgb(rgb, spec, head)
