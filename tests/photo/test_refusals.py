"""Inputs that cannot make a compliant photo are refused with the instruction that fixes them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.photo.imageio import UnreadableImage
from kiosk.photo.pipeline import PhotoRefused, make_photo

from .conftest import jpeg_bytes


def _refusal(data: bytes) -> PhotoRefused:
    with pytest.raises(PhotoRefused) as err:
        make_photo(data)
    return err.value


def test_no_face(girl: np.ndarray) -> None:
    noise = (np.random.default_rng(3).random((480, 640, 3)) * 255).astype(np.uint8)
    err = _refusal(jpeg_bytes(cv2.GaussianBlur(noise, (0, 0), 3)))
    assert err.code == "single_face" and err.report.get("single_face").value == 0
    assert "没有检测到人脸" in err.zh


def test_face_cut_off_by_the_frame(girl: np.ndarray) -> None:
    h = girl.shape[0]
    err = _refusal(jpeg_bytes(girl[: int(h * 0.42)]))  # cut through the nose
    assert err.code == "face_cut"


def test_head_cut_at_the_top(girl: np.ndarray) -> None:
    err = _refusal(jpeg_bytes(girl[60:]))  # the hair runs into the top edge
    assert err.code == "framing" and err.report.get("framing").reason == "head_cut"


def test_shoulders_cut_is_too_close(girl: np.ndarray) -> None:
    h = girl.shape[0]
    err = _refusal(jpeg_bytes(girl[: int(h * 0.62)]))
    assert err.code == "framing" and err.report.get("framing").reason == "too_close"
    assert "向后" in err.zh


def test_too_far_away(girl: np.ndarray) -> None:
    h, w = girl.shape[:2]
    small = cv2.resize(girl, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    canvas = np.full((h, w, 3), 120, np.uint8)
    x = (w - small.shape[1]) // 2
    canvas[h - small.shape[0] :, x : x + small.shape[1]] = small
    err = _refusal(jpeg_bytes(canvas))
    assert err.code == "framing" and err.report.get("framing").reason == "too_far"
    assert "靠近" in err.zh


def test_unreadable_inputs_are_not_refusals(portraits) -> None:
    data = (portraits / "asian_girl_indoor.jpg").read_bytes()
    for bad in (
        data[: len(data) // 2],
        b"GIF89a not really",
    ):
        with pytest.raises(UnreadableImage):
            make_photo(bad)


def test_readable_but_small_image_is_too_small_not_unreadable(girl: np.ndarray) -> None:
    small = cv2.resize(girl, (160, 230), interpolation=cv2.INTER_AREA)
    err = _refusal(jpeg_bytes(small))
    assert err.code == "image_size" and err.report.get("image_size").value == "160x230"
    assert "太小" in err.zh and "too small" in err.en


def test_tilted_head_is_refused_never_rotated(girl: np.ndarray) -> None:
    h, w = girl.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h * 0.4), 9, 1.0)  # counter-clockwise on screen
    tilted = cv2.warpAffine(girl, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    err = _refusal(jpeg_bytes(tilted))
    assert err.code == "pupil_tilt" and "摆正" in err.zh
