"""check_jpeg judges any JPEG: the faults a reviewer rejects are caught, each with a sentence."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk.photo.check import check_jpeg

from .measure import decode, landmarks


def _jpeg(rgb: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=kw.pop("quality", 90), dpi=(300, 300), **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good(made) -> tuple[np.ndarray, np.ndarray]:
    out = decode(made["asian_girl_indoor.jpg"].jpeg)
    _, pts = landmarks(out)
    return out, pts


def _failed(data: bytes) -> dict[str, str]:
    report = check_jpeg(data)
    assert not report.ok
    return {i.name: i.verdict for i in report.failures}


def test_finished_photo_passes(made) -> None:
    assert check_jpeg(made["asian_girl_indoor.jpg"].jpeg).ok


def test_raw_capture_fails_size_and_framing(portraits) -> None:
    report = check_jpeg((portraits / "asian_girl_indoor.jpg").read_bytes())
    failed = {i.name for i in report.failures}
    assert "dimensions" in failed and "background" in failed


def test_blur_fails_sharpness(good) -> None:
    out, _ = good
    assert "sharpness" in _failed(_jpeg(cv2.GaussianBlur(out, (0, 0), 2.0)))


def test_one_dark_cheek_fails_balance(good) -> None:
    out, pts = good
    lit = out.astype(np.float32)
    cx = int((pts[234, 0] + pts[454, 0]) / 2)
    lit[:, :cx] *= 0.5
    assert "illumination_balance" in _failed(_jpeg(lit.astype(np.uint8)))


def test_background_gradient_fails(good, spec) -> None:
    out, _ = good
    img = out.astype(np.float32)
    bg = np.linalg.norm(img - np.array(spec.bg_rgb), axis=2) < 12
    ramp = np.linspace(-40, 40, img.shape[1])[None, :, None] * np.ones((img.shape[0], 1, 1))
    img[bg] = np.clip(img + ramp, 0, 255)[bg]
    assert "background" in _failed(_jpeg(img.astype(np.uint8)))


def test_clothes_like_the_background_fail(good, spec) -> None:
    out, pts = good
    img = out.copy()
    dark = img.astype(int).sum(axis=2) < 200
    dark[: int(pts[152, 1]) + 40] = False
    img[dark] = (105, 190, 250)
    assert "clothing" in _failed(_jpeg(img))


def test_glare_on_glasses_warns(good) -> None:
    out, pts = good
    img = out.copy()
    for i in (468, 473):
        x, y = pts[i].astype(int)
        cv2.circle(img, (int(x) + 6, int(y) - 4), 9, (255, 255, 255), -1)
    item = check_jpeg(_jpeg(img)).get("glasses_glare")
    assert item.verdict == "warn" and "反光" in item.zh


def test_progressive_and_low_quality_files_fail(good) -> None:
    out, _ = good
    assert "file_format" in _failed(_jpeg(out, progressive=True))
    assert "jpeg_quality" in _failed(_jpeg(out, quality=30))


def test_mirrored_is_still_judged_by_geometry_only(good) -> None:
    """The checker cannot know a mirror; the pipeline's own tests guard against mirroring."""
    out, _ = good
    assert check_jpeg(_jpeg(np.ascontiguousarray(out[:, ::-1]))).get("eye_line").verdict == "pass"
