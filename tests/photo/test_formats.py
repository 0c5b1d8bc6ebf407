"""CMYK, 16-bit, alpha and EXIF-rotated inputs make the same kind of compliant photo."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk.photo.pipeline import PhotoResult, make_photo

from .measure import measure


def _cmyk(girl: np.ndarray, tmp: Path) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(girl).convert("CMYK").save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _sixteen(girl: np.ndarray, tmp: Path) -> Path:
    path = tmp / "deep.png"
    deep = cv2.cvtColor(girl, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    cv2.imwrite(str(path), deep)
    return path


def _alpha(girl: np.ndarray, tmp: Path) -> bytes:
    rgba = np.dstack([girl, np.full(girl.shape[:2], 255, np.uint8)])
    rgba[:, :12, 3] = 0  # a transparent strip, as from an editor
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def _rotated(girl: np.ndarray, tmp: Path) -> bytes:
    stored = Image.fromarray(girl).transpose(Image.Transpose.ROTATE_270)  # phone held sideways
    exif = Image.Exif()
    exif[274] = 8  # viewer rotates it back upright
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize(
    "make", [_cmyk, _sixteen, _alpha, _rotated], ids=["cmyk", "16bit", "alpha", "exif_rotated"]
)
def test_unusual_input_makes_a_compliant_upright_photo(
    make, girl: np.ndarray, tmp_path: Path, spec
) -> None:
    result = make_photo(make(girl, tmp_path))
    assert isinstance(result, PhotoResult) and result.report.ok
    m = measure(result.jpeg, spec.bg_rgb)
    assert spec.eye_line[0] <= m.eye_y <= spec.eye_line[1]
    assert abs(m.roll) < 5  # upright: the eyes are level, not a quarter turn off
    chin_below_eyes = m.landmarks[152, 1] > m.eye_y + 50
    assert chin_below_eyes
