"""Reading any input image safely and cheaply.

A kiosk capture is a 24-megapixel JPEG, but uploads and operator imports can be
anything: CMYK, 16-bit, alpha, EXIF-rotated phone photos, 100-megapixel files,
truncated downloads. JPEGs are decoded at a reduced DCT scale (PIL's draft
mode) to the resolution actually needed, so memory stays bounded whatever the
input size; the size is checked from the header before any pixel is decoded.

Hostile files are bounded before they cost anything: only a regular file is
read (a FIFO, a device or a symlink to ``/dev/zero`` is refused without reading
or blocking), at most ``max_file_mb`` of it; a JPEG with more than
``max_jpeg_scans`` scans is refused; libjpeg's "premature end" warning -- a
truncated file with an end marker appended decodes "fine" in Pillow, its lower
part flat grey -- makes the file unreadable (libjpeg-turbo in strict mode,
through simplejpeg, which decodes colour JPEGs with the same library and scale
as Pillow's draft mode, so at no extra cost); decoding is given up after
``decode_timeout_s``.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from kiosk import notices
from kiosk.errors import KioskError

# libjpeg's words for data that ends before the image does (JWRN_JPEG_EOF, JWRN_HIT_MARKER).
_PREMATURE = "premature end"

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
            *((zh, en) if zh and en else notices.words("unreadable_image")),
            detail,
        )

    @classmethod
    def because(cls, code: str, detail: str) -> UnreadableImage:
        """Unreadable, in the words for ``code`` from ``config/messages/faults.toml``."""
        zh, en = notices.words(code)
        return cls(detail, zh, en)


@dataclass(frozen=True)
class Limits:
    max_megapixels: float = 120.0
    max_megapixels_other: float = 50.0
    min_side: int = 240
    max_file_mb: float = 100.0
    max_jpeg_scans: int = 100
    decode_timeout_s: float = 20.0


@dataclass
class Source:
    """An input whose header was read and checked; pixels are decoded on demand."""

    data: bytes
    format: str
    stored_size: tuple[int, int]  # as stored, before EXIF orientation
    orientation: int
    limits: Limits = field(default_factory=Limits)
    verified: bool = False  # the whole JPEG stream was checked (``_verify_jpeg``)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as the picture is meant to be seen."""
        w, h = self.stored_size
        return (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)

    def decode(self, min_scale: float = 1.0) -> tuple[NDArray[Any], float]:
        """RGB uint8 pixels at a scale >= ``min_scale`` of the full size (JPEG: DCT scaling).

        Returns the array and the scale actually used (decoded px per full px).
        """
        timeout = self.limits.decode_timeout_s
        deadline = time.monotonic() + timeout
        turbo = None
        if self.format == "JPEG":  # the common case: one strict decode, same pixels as Pillow
            turbo = _Background(lambda: self._turbo_decode(min_scale)).result(timeout)
        if turbo is not None:
            pixels, scale = turbo
            if self.orientation not in _ORIENT:
                return pixels, scale  # upright already: no copy through PIL
            rgb = Image.fromarray(pixels)
        else:
            checker = None
            if self.format == "JPEG" and not self.verified:
                checker = _Background(lambda: _verify_jpeg(self.data))  # beside Pillow
            rgb, scale = _Background(lambda: self._pillow_decode(min_scale)).result(timeout)
            if checker is not None:
                checker.result(max(0.0, deadline - time.monotonic()), timeout)
                self.verified = True
        for op in _ORIENT.get(self.orientation, []):
            rgb = rgb.transpose(op)
        return np.asarray(rgb), scale

    def _turbo_decode(self, min_scale: float) -> tuple[NDArray[Any], float] | None:
        """A colour JPEG through libjpeg-turbo in strict mode, at Pillow's draft scale.

        Same library, same algorithms and the same 1/1-1/8 scale Pillow's draft
        picks, so the pixels are Pillow's; a premature end raises. None for what
        Pillow handles itself (grey, CMYK, a stream with other warnings).
        """
        try:
            colourspace = simplejpeg.decode_jpeg_header(self.data)[2]
        except ValueError:
            return None
        if colourspace not in ("YCbCr", "RGB"):
            return None
        w, h = self.stored_size
        denom = 1
        if min_scale < 1.0:  # as PIL.JpegImagePlugin.draft chooses it
            want = (max(1, int(w * min_scale)), max(1, int(h * min_scale)))
            k = min(w // want[0], h // want[1])
            denom = next(d for d in (8, 4, 2, 1) if k >= d)
        try:
            pixels = simplejpeg.decode_jpeg(self.data, colorspace="RGB", min_factor=1,
                                            min_width=-(-w // denom), min_height=-(-h // denom),
                                            strict=True)
        except ValueError as exc:
            if _PREMATURE in str(exc).lower():
                raise _premature(exc) from None
            self.verified = True  # strict decoding met another warning first: Pillow decides
            return None
        self.verified = True
        return pixels, pixels.shape[1] / w

    def _pillow_decode(self, min_scale: float) -> tuple[Image.Image, float]:
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
        return rgb, scale


class _Background:
    """A call on its own thread; ``result(timeout)`` waits for it, bounded in time.

    Pillow and libjpeg-turbo release the GIL while decoding, so the caller can
    give up on time. The thread cannot be killed: it is a daemon and its result
    is dropped.
    """

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), name="image-decode",
                                        daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            self._box["error"] = exc

    def result(self, timeout: float, limit: float | None = None) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise UnreadableImage.because(
                "image_too_slow", f"decoding took longer than {limit or timeout:g} s")
        if "error" in self._box:
            raise self._box["error"]
        return self._box.get("value")


def _verify_jpeg(data: bytes) -> None:
    """Decode the whole stream strictly (at 1/8 scale): a premature end is unreadable.

    Pillow fills what is missing after a truncation with flat grey when an end
    marker follows; libjpeg-turbo in strict mode reports it. Other libjpeg
    warnings (extraneous bytes before a marker, as some cameras write) are left
    to Pillow, which decoded the picture.
    """
    try:
        colourspace = simplejpeg.decode_jpeg_header(data)[2]
    except ValueError:
        return  # a stream libjpeg-turbo does not read (e.g. 12-bit): Pillow decides
    target = {"CMYK": "CMYK", "YCCK": "CMYK", "Gray": "GRAY"}.get(colourspace, "RGB")
    try:
        simplejpeg.decode_jpeg(data, colorspace=target, min_factor=8, fastdct=True,
                               fastupsample=True, strict=True)
    except ValueError as exc:
        if _PREMATURE in str(exc).lower():
            raise _premature(exc) from None


def _premature(exc: Exception) -> UnreadableImage:
    return UnreadableImage.because(
        "image_damaged", f"cannot decode JPEG: the data ends before the image does ({exc})")


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
    limits = limits or Limits()
    if isinstance(source, str | Path):
        data = read_input(source, limits)
    else:
        data = bytes(source)
        if len(data) > limits.max_file_mb * 1024 * 1024:
            raise UnreadableImage.because(
                "image_file_too_large", f"{len(data)} bytes, limit {limits.max_file_mb:g} MiB")
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
    except UnidentifiedImageError:
        raise UnreadableImage("not an image: format not recognised") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImage(f"not an image: {exc}") from None
    if fmt == "JPEG" and (scans := data.count(b"\xff\xda")) > limits.max_jpeg_scans:
        raise UnreadableImage.because(
            "image_damaged", f"JPEG has {scans} scans, limit {limits.max_jpeg_scans}")
    mp = size[0] * size[1] / 1e6
    limit = limits.max_megapixels if fmt == "JPEG" else limits.max_megapixels_other
    if mp > limit:
        raise _too_large(f"{size[0]}x{size[1]} = {mp:.0f} MP {fmt}, limit {limit:.0f} MP")
    if min(size) < limits.min_side:
        raise UnreadableImage(
            f"image too small: {size[0]}x{size[1]}, shorter side must be >= {limits.min_side}",
            *notices.words("image_too_small"),
        )
    return Source(data, fmt, size, orientation if orientation in range(1, 9) else 1, limits)


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
          stat.S_IFDIR: "a directory"}


def read_input(path: str | os.PathLike[str], limits: Limits | None = None) -> bytes:
    """The bytes of an input file: a regular file only, at most ``max_file_mb``, never blocking.

    Opened non-blocking (a FIFO without a writer would hang ``open``) and judged
    by ``fstat`` of what was opened (a symlink counts as what it points to, and
    cannot be swapped between check and read); read up to the cap plus one byte,
    so a file that is still growing is refused rather than followed.
    """
    limits = limits or Limits()
    cap = int(limits.max_file_mb * 1024 * 1024)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableImage(f"cannot read file: {exc.strerror}") from None
    with os.fdopen(fd, "rb", buffering=0) as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise UnreadableImage.because("image_not_a_file", f"input is {kind}, not a file")
        if st.st_size > cap:
            raise UnreadableImage.because(
                "image_file_too_large", f"{st.st_size} bytes, limit {limits.max_file_mb:g} MiB")
        chunks: list[bytes] = []
        left = cap + 1
        try:
            os.set_blocking(fd, True)
            while left > 0 and (chunk := fh.read(min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
        except OSError as exc:
            raise UnreadableImage(f"cannot read file: {exc.strerror}") from None
    data = b"".join(chunks)
    if len(data) > cap:
        raise UnreadableImage.because(
            "image_file_too_large", f"more than {limits.max_file_mb:g} MiB (still growing)")
    return data


def _too_large(detail: str) -> UnreadableImage:
    return UnreadableImage(
        f"image too large: {detail}",
        *notices.words("image_too_large"),
    )


def decode_rgb(source: bytes | str | Path, max_side: int | None = None) -> NDArray[Any]:
    """Convenience: whole image as RGB, reduced by DCT scaling towards ``max_side``."""
    src = open_source(source)
    scale = 1.0 if not max_side else min(1.0, max_side / max(src.size))
    rgb, _ = src.decode(scale)
    return rgb
