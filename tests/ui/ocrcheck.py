"""Does the screenshot show the words the screen means to show? (RapidOCR, offline)

``Player.shot`` writes, beside each screenshot, the texts of the visible widgets
with their boxes. ``problems`` reads the screenshot with OCR and, for each of
those texts, looks at what was read inside its widget's box:

- not drawn (nothing, or too little of it, read there);
- outside the window (its box leaves the screenshot);
- clipped (only part of it read);
- overlapping another text (more read in its box than it holds, or its words
  spill out of its box).

Single characters (keypad keys, entry cells) and signs (arrows, dots) are too
short for OCR: for those there must be ink of the widget's colour in its box;
the countdown digit, which sits on the live picture, must be read by OCR.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

MARKUP = re.compile(r"\[/?(?:b|i|u|s|sub|sup|size|color|font|ref|anchor)(?:=[^\]]*)?\]")
KEEP = re.compile(r"[0-9a-z\u4e00-\u9fff]")
# Characters OCR reads as look-alikes (after casefold).
SAME = str.maketrans({"×": "x", "Ｘ": "x", "０": "0", "１": "1", "２": "2", "３": "3",
                      "ｏ": "o", "（": "(", "）": ")"})
MARGIN = 8  # px: a box is grown by this much before OCR lines are assigned to it
SPILL = 14  # px: words may reach this far out of their box before they count as spilled
MIN_COVER = 0.8  # share of a text's characters that must be read in its box
MAX_EXTRA = 0.35  # more read in a box than this share (plus 2 characters): overlapped


@dataclass
class Line:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


@cache
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    # Native size: the default ("min" side 736) enlarges a narrow crop for nothing.
    return RapidOCR(det_limit_type="max", det_limit_side_len=1280)


def normalize(text: str, markup: bool = False) -> str:
    if markup:
        text = MARKUP.sub("", text)
    return "".join(KEEP.findall(text.casefold().translate(SAME)))


def read(image: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list[Line]:
    """OCR lines of ``image`` (RGB), only within ``region`` when given (faster)."""
    x0, y0 = 0, 0
    if region is not None:
        x0, y0, x1, y1 = region
        image = image[y0:y1, x0:x1]
    result, _ = _engine()(np.ascontiguousarray(image[:, :, ::-1]), use_cls=False)  # BGR
    lines = []
    for quad, text, _score in result or []:
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        lines.append(Line(text, (int(min(xs)) + x0, int(min(ys)) + y0,
                                 int(max(xs)) + x0, int(max(ys)) + y0)))
    return lines


# Lines read per screenshot (path -> lines), filled while the run still draws
# (conftest.ui_run) so the tests find most shots already read.
READ: dict[str, list[Line]] = {}


def read_shot(png: Path) -> tuple[np.ndarray, dict, list[Line]]:
    """A screenshot, the texts its screen meant to show, and the lines OCR reads in
    their region (read once per screenshot and process)."""
    meant = json.loads(png.with_suffix(".json").read_text())
    img = load(png)
    key = str(png)
    if key not in READ:
        READ[key] = read(img, text_region(meant, img.shape))
    return img, meant, READ[key]


def read_one(image: np.ndarray, box: list[int]) -> str:
    """Recognition alone on one box (a lone large glyph the detector may pass over)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return ""
    crop = np.ascontiguousarray(image[y0:y1, x0:x1, ::-1])
    result, _ = _engine()(crop, use_det=False, use_cls=False)
    return "".join(str(r[0]) for r in result or [])


def load(png: Path) -> np.ndarray:
    return np.asarray(Image.open(png).convert("RGB"))


def text_region(meant: dict, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The part of the screen that holds all the meant texts (OCR only there)."""
    h, w = shape[:2]
    boxes = [t["box"] for t in meant["texts"]] or [[0, 0, w, h]]
    return (max(0, min(b[0] for b in boxes) - 20), max(0, min(b[1] for b in boxes) - 20),
            min(w, max(b[2] for b in boxes) + 20), min(h, max(b[3] for b in boxes) + 20))


def _inside(pt: tuple[float, float], box: list[int], margin: int) -> bool:
    return (box[0] - margin <= pt[0] <= box[2] + margin
            and box[1] - margin <= pt[1] <= box[3] + margin)


def _ink(image: np.ndarray, box: list[int], color: list[float]) -> int:
    """Pixels in ``box`` nearer the text colour than the box's usual (background) colour."""
    x0, y0, x1, y1 = (max(0, v) for v in box)
    patch = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.int16)
    if patch.size == 0:
        return 0
    want = np.array([round(c * 255) for c in color[:3]], dtype=np.int16)
    ground = np.median(patch, axis=0)
    if np.abs(ground - want).max() < 40:
        return 0  # text in the background's own colour cannot be seen
    to_text = np.abs(patch - want).sum(axis=1)
    to_ground = np.abs(patch - ground).sum(axis=1)
    return int((to_text < to_ground).sum())


def covered(expected: str, got: str) -> float:
    """Share of ``expected``'s characters found, in order, in ``got``."""
    if not expected:
        return 1.0
    blocks = difflib.SequenceMatcher(None, expected, got, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) / len(expected)


def problems(image: np.ndarray, meant: dict, lines: list[Line]) -> list[str]:
    """What a student would miss on this screenshot; empty when every text is drawn."""
    h, w = image.shape[:2]
    found = []
    for item in meant["texts"]:
        text, box, tag = item["text"], item["box"], item.get("tag") or item["kind"]
        what = f"{tag} {text[:30]!r}"
        if box[0] < -2 or box[1] < -2 or box[2] > w + 2 or box[3] > h + 2:
            found.append(f"{what}: outside the window (box {box})")
            continue
        expected = normalize(text, item.get("markup", False))
        mine = sorted((ln for ln in lines if _inside(ln.centre, box, MARGIN)),
                      key=lambda ln: (round(ln.box[1] / 12), ln.box[0]))
        got = normalize("".join(ln.text for ln in mine))
        if item.get("tag") == "countdown" and expected not in got:
            got = normalize(read_one(image, box))
        if len(expected) >= 2 or item.get("tag") == "countdown":
            cover = covered(expected, got)
            if cover < MIN_COVER:
                found.append(f"{what}: read {got[:40]!r} in its box ({cover:.0%} of it: "
                             "not drawn, clipped or covered)")
                continue
            if len(got) > len(expected) * (1 + MAX_EXTRA) + 2:
                found.append(f"{what}: read {got[:60]!r} in its box: another text overlaps")
                continue
            for ln in mine:
                if (ln.box[0] < box[0] - SPILL or ln.box[2] > box[2] + SPILL
                        or ln.box[1] < box[1] - SPILL or ln.box[3] > box[3] + SPILL):
                    found.append(f"{what}: {ln.text!r} drawn beyond its box {box} at "
                                 f"{list(ln.box)} (clipped or overlapping)")
                    break
        elif _ink(image, box, item["color"]) < 5:  # a "." at 24 sp is about 10 pixels
            found.append(f"{what}: no ink of its colour in its box (not drawn)")
    return found
