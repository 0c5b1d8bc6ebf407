"""Any input decodes to upright 8-bit RGB, or is refused with a clear reason."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk.photo.imageio import Limits, UnreadableImage, decode_rgb, open_source


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied() -> None:
    a = np.zeros((300, 400, 3), np.uint8)
    a[:100, :, 0] = 255  # red band on top when upright
    stored = Image.fromarray(a).transpose(Image.Transpose.ROTATE_90)  # stored on its side
    exif = Image.Exif()
    exif[274] = 6  # display: rotate 90 clockwise
    rgb = decode_rgb(_save(stored, "JPEG", exif=exif, quality=95))
    assert rgb.shape[:2] == (300, 400)
    assert rgb[:90, :, 0].mean() > 200 and rgb[120:, :, 0].mean() < 40


def test_cmyk_sixteen_bit_and_alpha_become_rgb() -> None:
    base = np.zeros((300, 300, 3), np.uint8)
    base[..., 1] = 200
    cmyk = decode_rgb(_save(Image.fromarray(base).convert("CMYK"), "JPEG", quality=95))
    assert (
        cmyk.dtype == np.uint8
        and cmyk.shape == (300, 300, 3)
        and abs(int(cmyk[..., 1].mean()) - 200) < 10
    )
    g16 = Image.fromarray(np.full((300, 300), 40000, np.uint16))
    gray = decode_rgb(_save(g16, "PNG"))
    assert gray.shape == (300, 300, 3) and abs(int(gray.mean()) - 40000 * 255 // 65535) <= 1
    rgba = np.zeros((300, 300, 4), np.uint8)
    rgba[..., 2] = 255
    rgba[:, 150:, 3] = 255  # left half transparent
    out = decode_rgb(_save(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out[:, :100].min() > 250  # transparent -> white
    assert tuple(out[10, 200]) == (0, 0, 255)


def test_sixteen_bit_rgb_png(tmp_path: Path) -> None:
    a = np.zeros((260, 260, 3), np.uint16)
    a[..., 2] = 65535  # OpenCV order: BGR -> red
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), a)
    rgb = decode_rgb(path)
    assert rgb.dtype == np.uint8 and rgb[..., 0].min() > 250 and rgb[..., 2].max() < 5


def test_jpeg_is_decoded_at_reduced_scale() -> None:
    big = _save(Image.new("RGB", (4000, 3000), (90, 90, 90)), "JPEG")
    rgb, scale = open_source(big).decode(0.2)
    assert scale == 0.25 and rgb.shape == (750, 1000, 3)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"this is a text file, not a photo\n" * 20, "not an image"),
        (b"", "empty"),
    ],
)
def test_non_images_are_unreadable(data: bytes, words: str) -> None:
    with pytest.raises(UnreadableImage, match=words):
        open_source(data)


def test_truncated_jpeg_is_unreadable(portraits: Path) -> None:
    data = (portraits / "man_beard_grey.jpg").read_bytes()
    with pytest.raises(UnreadableImage) as err:
        open_source(data[: len(data) // 3]).decode(1.0)
    assert err.value.zh and "decode" in err.value.detail


def test_tiny_and_huge_images_are_refused() -> None:
    tiny = _save(Image.new("RGB", (200, 150)), "JPEG")
    with pytest.raises(UnreadableImage, match="too small") as err:
        open_source(tiny)
    assert "太小" in err.value.zh
    big = _save(Image.new("RGB", (1000, 1000)), "JPEG")
    with pytest.raises(UnreadableImage, match="too large"):
        open_source(big, Limits(max_megapixels=0.5))
    png = _save(Image.new("RGB", (1000, 1000)), "PNG")
    with pytest.raises(UnreadableImage, match="too large"):
        open_source(png, Limits(max_megapixels=120, max_megapixels_other=0.5))


@pytest.mark.parametrize("min_scale", [1.0, 0.6, 0.3, 0.2, 0.1])
def test_strict_jpeg_decode_gives_pillows_pixels_at_pillows_scale(portraits: Path, min_scale):
    """The strict (libjpeg-turbo) decode replaces Pillow's for colour JPEGs: nothing changes."""
    for name in ("man_suit_office.jpg", "asian_woman_suit.jpg", "two_faces_event.jpg"):
        src = open_source((portraits / name).read_bytes())
        rgb, scale = src.decode(min_scale)
        assert src.verified
        im, pil_scale = src._pillow_decode(min_scale)
        assert scale == pil_scale and np.array_equal(rgb, np.asarray(im))


def test_cmyk_and_grey_jpegs_are_checked_strictly_too(portraits: Path) -> None:
    rgb = decode_rgb(portraits / "man_suit_office.jpg")
    for mode in ("CMYK", "L"):
        whole = _save(Image.fromarray(rgb).convert(mode), "JPEG", quality=90)
        assert open_source(whole).decode(0.5)[0].shape[2] == 3
        cut = whole[: len(whole) // 2] + b"\xff\xd9"
        with pytest.raises(UnreadableImage, match="ends before the image does"):
            open_source(cut).decode(0.5)
