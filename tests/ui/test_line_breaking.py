"""No drawn line of the review screen's list of check items starts with 、 or another
closing mark (Chinese line breaking, ``kiosk.app.linebreak``).

Checked on pixels: the first glyph drawn on each line (its ink, cut at the
first blank column) is compared with each closing mark drawn alone at the
list's size; a line that starts with one fails. Both on the gallery's
screenshots of the review screen and, at the items label's widths taken from
them, on the list rendered for many reports (``linebreak_check.py``), so the
check does not depend on which items today's photo happened to pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.timeout(1800)  # the shared run of every scenario (conftest.ui_run)
REVIEW_SHOTS = ("g_review_pass", "g_review_warn", "g_review_fail", "g_en_review_fail")


def _bands(mask: np.ndarray) -> list[tuple[int, int]]:
    """Rows of each drawn line: runs of rows with ink, blank rows between them."""
    rows = mask.any(axis=1)
    out, start = [], None
    for y, on in enumerate(list(rows) + [False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            out.append((start, y))
            start = None
    return out


def _tight(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not rows.size:
        return mask[:0, :0]
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _first_glyph(mask: np.ndarray) -> np.ndarray:
    """The ink at the start of a line, up to the first blank column."""
    cols = mask.any(axis=0)
    x0 = int(np.argmax(cols))
    blank = np.nonzero(~cols[x0:])[0]
    x1 = x0 + int(blank[0]) if blank.size else mask.shape[1]
    return _tight(mask[:, x0:x1])


def _same_shape(a: np.ndarray, b: np.ndarray) -> bool:
    if a.size == 0 or abs(a.shape[0] - b.shape[0]) > 1 or abs(a.shape[1] - b.shape[1]) > 1:
        return False
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = a[:h, :w], b[:h, :w]
    return float((a & b).sum() / max(1, (a | b).sum())) > 0.8


def lines_starting_with_a_mark(mask: np.ndarray, marks: dict[str, np.ndarray]) -> list[str]:
    """For each drawn line of ``mask`` (ink) whose first glyph is a closing mark: which."""
    found = []
    for n, (y0, y1) in enumerate(_bands(mask)):
        glyph = _first_glyph(mask[y0:y1])
        found += [f"line {n + 1} starts with {ch}" for ch, m in marks.items()
                  if _same_shape(glyph, m)]
    return found


def _alpha(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))[:, :, 3] > 128


@pytest.fixture(scope="module")
def rendered(shots: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    widths = set()
    for name in REVIEW_SHOTS:
        meant = json.loads(shots[name].with_suffix(".json").read_text())
        (box,) = [t["box"] for t in meant["texts"] if t["tag"] == "items"]
        widths.add(box[2] - box[0])
    out = tmp_path_factory.mktemp("linebreak")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, str(HERE / "linebreak_check.py"), str(out),
                           *map(str, sorted(widths))],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    marks = {ch: _tight(_alpha(out / f)) for ch, f in result["marks"].items()}
    assert "、" in marks and "，" in marks, sorted(marks)
    return {"out": out, "texts": result["texts"], "marks": marks, "widths": sorted(widths)}


def test_the_detector_sees_a_line_that_starts_with_a_mark(rendered: dict) -> None:
    """The check can fail: a list drawn with a 、 first on its second line is caught,
    the same list without it is not."""
    marks = rendered["marks"]
    (list_png,) = [f for f in rendered["texts"] if f.startswith("list_zh_") and "_all" in f]
    mask = _alpha(rendered["out"] / list_png)
    bands = _bands(mask)
    assert len(bands) >= 4, f"the passed list is not wrapped at {rendered['widths']}"
    assert not lines_starting_with_a_mark(mask, marks)
    # Paste the 、 glyph at the start of the last line, as a bad break would draw it.
    y0, y1 = bands[-1]
    comma = marks["、"]
    edited = mask.copy()
    x0 = int(np.argmax(edited[y0:y1].any(axis=0)))
    edited[y0:y1, x0:] = np.roll(edited[y0:y1, x0:], comma.shape[1] + 6, axis=1)
    edited[y1 - comma.shape[0]:y1, x0:x0 + comma.shape[1]] = comma
    assert lines_starting_with_a_mark(edited, marks), "a 、 at a line's start went unnoticed"


def test_no_line_of_the_item_list_starts_with_a_closing_mark(rendered: dict) -> None:
    bad = {}
    wrapped = 0
    for name in rendered["texts"]:
        mask = _alpha(rendered["out"] / name)
        wrapped += len(_bands(mask)) >= 4
        found = lines_starting_with_a_mark(mask, rendered["marks"])
        if found:
            bad[name] = found
    assert wrapped >= len(rendered["texts"]) // 2, "the lists were not wrapped"
    assert not bad, f"{len(bad)} of {len(rendered['texts'])} lists: " + "; ".join(
        f"{n}: {', '.join(f)}" for n, f in list(bad.items())[:8])


def test_review_screenshots_start_no_line_with_a_closing_mark(
        shots: dict[str, Path], rendered: dict) -> None:
    """The review screen as drawn in the gallery: its items box, text darker than the page."""
    for name in REVIEW_SHOTS:
        meant = json.loads(shots[name].with_suffix(".json").read_text())
        (box,) = [t["box"] for t in meant["texts"] if t["tag"] == "items"]
        x0, y0, x1, y1 = box
        rgb = np.asarray(Image.open(shots[name]).convert("RGB"))[y0:y1, x0:x1].astype(np.int16)
        page = np.median(rgb.reshape(-1, 3), axis=0)
        ink = np.abs(rgb - page).sum(axis=2) > 150
        assert len(_bands(ink)) >= 3, f"{name}: no list drawn in the items box"
        found = lines_starting_with_a_mark(ink, rendered["marks"])
        assert not found, f"{name}: {found}"
