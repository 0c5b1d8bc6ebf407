"""Reading any input image safely and cheaply.

A kiosk capture is a 24-megapixel JPEG, but uploads and operator imports can be
anything: CMYK, 16-bit, alpha, EXIF-rotated phone photos, 100-megapixel files,
truncated downloads. JPEGs are decoded at a reduced DCT scale (PIL's draft
mode) to the resolution actually needed, so memory stays bounded whatever the
input size; the size is checked from the header before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from kiosk.errors import KioskError

# EXIF orientation -> PIL transpose operations (as in ImageOps.exif_transpose).
_ORIENT = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


class UnreadableImage(KioskError):
    """The input is not an image we can use (exit code 2)."""

    def __init__(self, detail: str, zh: str | None = None, en: str | None = None) -> None:
        super().__init__(
            "unreadable_image",
            zh or "无法读取这张图片，请换一张 JPEG 或 PNG 照片。",
            en or "This image cannot be read; use another JPEG or PNG photo.",
            detail,
        )


@dataclass(frozen=True)
class Limits:
    max_megapixels: float = 120.0
    max_megapixels_other: float = 50.0
    min_side: int = 240

    @classmethod
    def from_settings(cls) -> Limits:
        from kiosk.settings import fill, load_settings

        return fill(cls, load_settings().section("photo"))


@dataclass
class Source:
    """An input whose header was read and checked; pixels are decoded on demand."""

    data: bytes
    format: str
    stored_size: tuple[int, int]  # as stored, before EXIF orientation
    orientation: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as the picture is meant to be seen."""
        w, h = self.stored_size
        return (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)

    def decode(self, min_scale: float = 1.0) -> tuple[np.ndarray, float]:
        """RGB uint8 pixels at a scale >= ``min_scale`` of the full size (JPEG: DCT scaling).

        Returns the array and the scale actually used (decoded px per full px).
        """
        w, h = self.stored_size
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(self.data))
                if self.format == "JPEG" and min_scale < 1.0:
                    want = (
                        max(1, int(w * min_scale)),
                        max(1, int(h * min_scale)),
                    )
                    im.draft("RGB" if im.mode in ("RGB", "YCbCr") else im.mode, want)
                im.load()
                scale = im.size[0] / w
                rgb = _to_rgb(im)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise UnreadableImage(f"cannot decode {self.format}: {exc}") from None
        for op in _ORIENT.get(self.orientation, []):
            rgb = rgb.transpose(op)
        return np.asarray(rgb), scale


def _to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB whatever the mode: CMYK, 16-bit, palette, alpha (over white)."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im).astype(np.float32)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        if mode == "F":
            top = max(float(a.max()), 1.0)
        g = np.clip(a * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(g, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def open_source(source: bytes | str | Path, limits: Limits | None = None) -> Source:
    """Read the header and refuse what we cannot or should not decode."""
    limits = limits or Limits.from_settings()
    if isinstance(source, str | Path):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise UnreadableImage(f"cannot read file: {exc.strerror}") from None
    else:
        data = bytes(source)
    if not data:
        raise UnreadableImage("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            fmt = im.format or "?"
            size = im.size
            try:
                orientation = int(im.getexif().get(274, 1) or 1)
            except Exception:  # noqa: BLE001 - a broken EXIF block must not refuse the photo
                orientation = 1
    except Image.DecompressionBombError as exc:
        raise _too_large(str(exc)) from None
    except Image.UnidentifiedImageError:
        raise UnreadableImage("not an image: format not recognised") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImage(f"not an image: {exc}") from None
    mp = size[0] * size[1] / 1e6
    limit = limits.max_megapixels if fmt == "JPEG" else limits.max_megapixels_other
    if mp > limit:
        raise _too_large(f"{size[0]}x{size[1]} = {mp:.0f} MP {fmt}, limit {limit:.0f} MP")
    if min(size) < limits.min_side:
        raise UnreadableImage(
            f"image too small: {size[0]}x{size[1]}, shorter side must be >= {limits.min_side}",
            "图片太小，无法制作证件照，请使用更清晰的照片。",
            "The image is too small for an ID photo; use a larger photo.",
        )
    return Source(data, fmt, size, orientation if orientation in range(1, 9) else 1)


def _too_large(detail: str) -> UnreadableImage:
    return UnreadableImage(
        f"image too large: {detail}",
        "图片过大，无法处理，请使用较小的照片。",
        "The image is too large to process; use a smaller photo.",
    )


def decode_rgb(source: bytes | str | Path, max_side: int | None = None) -> np.ndarray:
    """Convenience: whole image as RGB, reduced by DCT scaling towards ``max_side``."""
    src = open_source(source)
    scale = 1.0 if not max_side else min(1.0, max_side / max(src.size))
    rgb, _ = src.decode(scale)
    return rgb
