"""Guidance played as a booth plays it, against the still the booth would take.

A scene is a sample portrait in one variant (original, shifted, zoomed out,
dimmer, blurred) shown by the simulated camera at a preview size, letterbox
bars included. The still is the variant itself as a JPEG (what the simulated
camera captures); the guide sees the previews with the camera's own picture
geometry. Each scene is judged the way a student would meet it:

* broken promise: guidance said "ready" and the still was refused;
* withheld: the still was compliant and guidance never said "ready";
* wrong instruction: both refuse, and the instruction does not name the
  still's first failure that the student can fix.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hardware.cameras.geometry import PictureGeometry
from hardware.cameras.simulated import letterbox
from kiosk.photo.guidance import Guide
from kiosk.photo.guidance_order import first_fixable
from kiosk.photo.pipeline import PhotoRefused, PhotoResult, make_photo
from kiosk.photo.spec import Spec

VARIANTS = ("original", "shifted", "zoomed_out", "dimmer", "blurred")
PREVIEWS = ((1280, 720), (640, 480))

# Which still failure (item, or framing reason) each instruction names.
NAMES: dict[str, set[str]] = {
    "no_face": {"single_face"},
    "multiple_faces": {"single_face"},
    "move_left": {"face_cut", "framing:shoulders_cut"},
    "move_right": {"face_cut", "framing:shoulders_cut"},
    "lower": {"face_cut", "framing:head_cut"},
    "higher": {"face_cut"},
    "straighten": {"pupil_tilt"},
    "turn_face": {"yaw"},
    "chin_up": {"pitch"},
    "chin_down": {"pitch"},
    "open_eyes": {"eyes_open"},
    "close_mouth": {"mouth_closed"},
    "closer": {"framing:too_far"},
    "back": {"framing:too_close", "framing:shoulders_cut"},
    "hair_too_high": {"framing:proportions"},
    "hold_still": {"sharpness"},
    "lighting": {"exposure", "illumination_balance"},
    "clothing": {"clothing"},
}


def variant(rgb: np.ndarray, name: str) -> np.ndarray:
    """One booth situation made from a portrait (the still the camera would take)."""
    h, w = rgb.shape[:2]
    if name == "original":
        return rgb
    if name == "shifted":  # sitting off to the camera's left, the picture's edge cuts the shoulder
        cut = w // 4
        return np.ascontiguousarray(np.pad(rgb[:, cut:], ((0, 0), (0, cut), (0, 0)), mode="edge"))
    if name == "zoomed_out":  # further from the camera: a smaller sitter, same picture size
        k = 0.62
        small = cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
        top, side = h - small.shape[0], (w - small.shape[1]) // 2
        return np.ascontiguousarray(
            np.pad(small, ((top, 0), (side, w - small.shape[1] - side), (0, 0)), mode="edge")
        )
    if name == "dimmer":  # an under-lit booth
        return np.clip(rgb.astype(np.float32) * 0.55, 0, 255).astype(np.uint8)
    if name == "blurred":  # moved during the exposure: horizontal motion blur
        n = max(3, round(w / 30)) | 1
        kernel = np.zeros((n, n), np.float32)
        kernel[n // 2, :] = 1.0 / n
        return cv2.filter2D(rgb, -1, kernel)
    raise ValueError(name)


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def still_reason(result: PhotoResult | PhotoRefused, spec: Spec) -> str:
    """'' when compliant, else the still's first fixable failure (framing with its reason)."""
    if isinstance(result, PhotoResult) and result.report.ok:
        return ""
    report = result.report
    name = first_fixable([i.name for i in report.failures], spec)
    if name is None:
        return "unfixable:" + ",".join(i.name for i in report.failures)
    if name == "framing":
        item = report.get("framing")
        return f"framing:{item.reason or item.value}"
    return name


@dataclass
class Scene:
    portrait: str
    variant: str
    preview: tuple[int, int]
    still: str  # '' compliant, else the still's first fixable reason
    ready: bool
    code: str  # the instruction shown at the end
    frame_item: str

    @property
    def matte_fault(self) -> bool:
        """"Ready", then the kiosk's own background replacement failed the still
        (matte_*): nothing in the preview shows it and the student cannot fix it, so
        it is counted apart from the promise -- and shown, as a fault of the matte."""
        names = self.still.split(":")[-1].split(",")
        return self.ready and bool(self.still) and all(n.startswith("matte_") for n in names)

    @property
    def broken(self) -> bool:
        return self.ready and self.still != "" and not self.matte_fault

    @property
    def withheld(self) -> bool:
        return not self.ready and self.still == ""

    @property
    def wrong_instruction(self) -> bool:
        if self.ready or not self.still or self.still.startswith("unfixable"):
            return False
        return self.still not in NAMES.get(self.code, set())


def play(guide: Guide, still_rgb: np.ndarray, preview: tuple[int, int], frames: int) -> tuple:
    """Show the still's preview ``frames`` times; the last advice."""
    frame = letterbox(still_rgb, preview)
    guide.geometry = PictureGeometry.fitted((still_rgb.shape[1], still_rgb.shape[0]), preview)
    guide.reset()
    advice = None
    for _ in range(frames):
        advice = guide.update(frame)
    return advice


def play_scenes(
    guide: Guide,
    portraits: list[Path],
    spec: Spec,
    variants: tuple[str, ...] = VARIANTS,
    previews: tuple[tuple[int, int], ...] = PREVIEWS,
    frames: int = 20,
) -> list[Scene]:
    from kiosk.photo.imageio import decode_rgb

    out = []
    for path in portraits:
        rgb = decode_rgb(path)
        for v in variants:
            still = variant(rgb, v)
            data = jpeg(still)
            try:
                result: PhotoResult | PhotoRefused = make_photo(data, spec)
            except PhotoRefused as exc:
                result = exc
            shot = decode_rgb(data)  # the still as the camera stores it
            reason = still_reason(result, spec)
            for size in previews:
                advice = play(guide, shot, size, frames)
                out.append(Scene(path.name, v, size, reason, advice.ready, advice.code,
                                 str(advice.detail.get("item", advice.detail.get("frame_code")))))  # fmt: skip
    return out


def summary(scenes: list[Scene]) -> str:
    n = len(scenes)
    both = [s for s in scenes if not s.ready and s.still and not s.still.startswith("unfixable")]
    lines = [
        f"scenes {n}: ready {sum(s.ready for s in scenes)}, "
        f"compliant stills {sum(s.still == '' for s in scenes)}",
        f"broken promises (ready, still refused): {sum(s.broken for s in scenes)}",
        f"matte faults after ready (the kiosk's, not the student's): "
        f"{sum(s.matte_fault for s in scenes)}",
        f"withheld (still compliant, never ready): {sum(s.withheld for s in scenes)}",
        f"both refuse: {len(both)}, instruction names the still's first fixable failure: "
        f"{sum(not s.wrong_instruction for s in both)}",
    ]
    for s in scenes:
        if s.broken or s.matte_fault or s.withheld or s.wrong_instruction:
            kind = ("BROKEN" if s.broken else "matte" if s.matte_fault
                    else "withheld" if s.withheld else "wrong")
            lines.append(f"  {kind:8} {s.portrait}/{s.variant}/{s.preview[0]}x{s.preview[1]}: "
                         f"still={s.still or 'ok'} guide={s.code} (frame item {s.frame_item})")  # fmt: skip
    return "\n".join(lines)
