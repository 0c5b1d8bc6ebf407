"""The sample portraits: compliant photos re-measured independently, or refused for the right reason."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk.photo.imageio import decode_rgb
from kiosk.photo.pipeline import PhotoRefused, PhotoResult

from .conftest import EXPECTED
from .measure import decode, landmarks, measure, person_mask, similarity_to_source

OK = [n for n, e in EXPECTED.items() if e == "ok"]
REFUSED = [n for n, e in EXPECTED.items() if e != "ok"]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_for_the_right_reason(made, name: str) -> None:
    result = made[name]
    code, reason = EXPECTED[name]
    assert isinstance(result, PhotoRefused), f"{name} should be refused ({code})"
    assert result.code == code
    item = result.report.get(code)
    assert item is not None and item.verdict == "fail" and item.reason == reason
    assert result.zh and result.en and result.zh == item.zh  # says what to do, in both languages


def test_two_faces_is_more_than_one_face(made) -> None:
    result = made["two_faces_event.jpg"]
    assert isinstance(result, PhotoRefused)
    assert result.report.get("single_face").value == 2
    assert "more than one face" in result.en.lower() and "多于一张人脸" in result.zh


@pytest.mark.parametrize("name", OK)
def test_output_file_is_the_standard_format(made, name: str, spec) -> None:
    result = made[name]
    assert isinstance(result, PhotoResult), getattr(result, "detail", result)
    im = Image.open(io.BytesIO(result.jpeg))
    assert im.format == "JPEG" and im.mode == "RGB" and im.size == (480, 640)
    assert im.info.get("dpi") == (300, 300)
    assert not im.info.get("progressive") and not im.info.get("progression")
    assert "exif" not in im.info and "icc_profile" not in im.info and not im.getexif()
    assert 20_480 <= spec.size_min_bytes <= len(result.jpeg) <= spec.size_max_bytes <= 40_000
    assert result.quality >= spec.min_quality
    assert result.report.ok
    # The highest quality that fits: one step up would leave the window (or the cap).
    if result.quality < spec.max_quality:
        from kiosk.photo.encode import _jpeg

        pixels = cv2.resize(
            np.asarray(result.master.image), (480, 640), interpolation=cv2.INTER_AREA
        )
        same = _jpeg(Image.fromarray(pixels), result.quality, 2, 300)
        assert same == result.jpeg  # the master really is what was encoded
        assert len(_jpeg(Image.fromarray(pixels), result.quality + 1, 2, 300)) > spec.size_max_bytes


@pytest.mark.parametrize("name", OK)
def test_output_remeasured_lies_inside_every_band(made, name: str, spec) -> None:
    m = measure(made[name].jpeg, spec.bg_rgb)
    assert m.faces == 1
    assert spec.hair_top[0] <= m.hair_top <= spec.hair_top[1], m.hair_top
    assert spec.eye_line[0] <= m.eye_y <= spec.eye_line[1], m.eye_y
    assert spec.face_width[0] <= m.face_width <= spec.face_width[1], m.face_width
    assert abs(m.face_cx - 240) <= spec.centre_tolerance, m.face_cx


@pytest.mark.parametrize("name", OK)
def test_output_is_not_mirrored(made, name: str, portraits: Path) -> None:
    out = decode(made[name].jpeg)
    src = decode_rgb(portraits / name)
    _, out_pts = landmarks(out)
    _, src_pts = landmarks(src)
    same, mirrored = similarity_to_source(out, out_pts, src, src_pts)
    assert same > 0.9, same
    assert same > mirrored + 0.05, (same, mirrored)


def assert_uniform_background(jpeg: bytes, bg_rgb: tuple[int, int, int]) -> None:
    out = decode(jpeg)
    person = person_mask(out) > 0.05
    near = cv2.dilate(person.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    bg = out[~near].astype(np.float32)
    assert bg.shape[0] > 0.1 * out.shape[0] * out.shape[1]
    dist = np.linalg.norm(bg - np.array(bg_rgb, np.float32), axis=1)
    assert np.percentile(dist, 99) < 8, np.percentile(dist, 99)
    top = out[:30].astype(np.float32).reshape(-1, 3)  # above the hair: nothing but the colour
    assert np.abs(top - np.array(bg_rgb)).max() < 10


@pytest.mark.parametrize("name", OK)
def test_background_is_uniform_outside_the_person(made, name: str, spec) -> None:
    assert_uniform_background(made[name].jpeg, spec.bg_rgb)


@pytest.mark.parametrize("name", OK)
def test_report_covers_every_item(made, name: str) -> None:
    names = {i.name for i in made[name].report.items}
    required = {
        "hair_top", "eye_line", "face_width", "centring", "pupil_tilt", "yaw", "pitch", "eyes_open",
        "mouth_closed", "single_face", "sharpness", "exposure", "illumination_balance", "background",
        "clothing", "glasses_glare", "file_size", "jpeg_quality", "dimensions",
    }  # fmt: skip
    assert required <= names
    for item in made[name].report.as_dict()["items"]:
        assert (
            item["verdict"] in ("pass", "warn", "fail")
            and item["zh"]
            and item["en"]
            and "limit" in item
        )


def test_white_background_alternative(girl: np.ndarray, spec) -> None:
    from kiosk.photo.pipeline import make_photo

    from .conftest import jpeg_bytes

    white = spec.with_background("white")
    result = make_photo(jpeg_bytes(girl), white)
    out = decode(result.jpeg)
    assert np.abs(out[:20].astype(int) - 255).max() < 6
    assert result.report.ok and result.report.get("background_colour").verdict == "pass"
