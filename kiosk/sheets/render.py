"""Rendering a reprint sheet: each print size cut once from the master, placed per layout."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from durable import write_durable
from kiosk.sheets.layout import Layout, Piece, load_layout
from kiosk.sheets.pdf import jpeg_page_pdf


@dataclass
class Sheet:
    image: Image.Image  # RGB, layout.pixels, at layout.dpi
    layout: Layout
    quality: int = 95
    _jpeg: bytes | None = field(default=None, repr=False)

    def jpeg(self) -> bytes:
        if self._jpeg is None:
            buf = io.BytesIO()
            dpi = self.layout.dpi
            self.image.save(buf, "JPEG", quality=self.quality, subsampling=0,
                            dpi=(dpi, dpi), optimize=False)
            self._jpeg = buf.getvalue()
        return self._jpeg

    def pdf(self) -> bytes:
        w_px, h_px = self.image.size
        w_pt, h_pt = self.layout.points
        return jpeg_page_pdf(self.jpeg(), w_px, h_px, w_pt, h_pt)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".pdf":
            return write_durable(target, self.pdf(), mode=0o644)
        if suffix in (".jpg", ".jpeg"):
            return write_durable(target, self.jpeg(), mode=0o644)
        raise ValueError(f"{target}: a sheet is saved as .pdf or .jpg")


def _default_cut(master: object, size_name: str) -> Image.Image:
    from kiosk.photo.prints import cut_print

    return cut_print(master, size_name)  # type: ignore[arg-type]


def _cut_marks(draw: ImageDraw.ImageDraw, pieces: tuple[Piece, ...], length: int,
               grey: int) -> None:
    """Corner ticks along each edge's extension, starting 2 px off the piece."""
    off = 2
    colour = (grey, grey, grey)
    for p in pieces:
        x0, y0, x1, y1 = p.box
        for cx, sx in ((x0, -1), (x1 - 1, 1)):
            for cy, sy in ((y0, -1), (y1 - 1, 1)):
                draw.line([(cx + sx * off, cy), (cx + sx * (off + length), cy)], fill=colour)
                draw.line([(cx, cy + sy * off), (cx, cy + sy * (off + length))], fill=colour)


def render_sheet(master: object, layout: int | Layout, cut_marks: bool | None = None,
                 cut: Callable[[object, str], Image.Image] | None = None,
                 options: Mapping[str, Any] | None = None) -> Sheet:
    """The sheet for ``layout`` (1 = 版式一, 2 = 版式二) from a ``kiosk.photo.master.Master``.

    ``options`` is the program's ``[sheets]`` table (cut marks, JPEG quality,
    layouts folder); without it, the built-in values.
    """
    opts = options or {}
    lay = layout if isinstance(layout, Layout) else load_layout(
        int(layout), str(opts.get("layouts_dir", "")))
    marks = bool(opts.get("cut_marks", False)) if cut_marks is None else cut_marks
    cutter = cut or _default_cut
    page = Image.new("RGB", lay.pixels, (255, 255, 255))
    if marks:
        _cut_marks(ImageDraw.Draw(page), lay.pieces, int(opts.get("cut_mark_length", 24)),
                   int(opts.get("cut_mark_grey", 96)))
    prints: dict[tuple[str, int], Image.Image] = {}
    for piece in lay.pieces:
        key = (piece.size, piece.rotate)
        if key not in prints:
            img = cutter(master, piece.size).convert("RGB")
            if piece.rotate == 90:
                img = img.transpose(Image.Transpose.ROTATE_90)
            if img.size != (piece.width, piece.height):
                raise ValueError(f"{piece.size} print is {img.size}, layout expects "
                                 f"{(piece.width, piece.height)}")
            prints[key] = img
        page.paste(prints[key], (piece.x, piece.y))
    page.info["dpi"] = (lay.dpi, lay.dpi)
    return Sheet(page, lay, int(opts.get("jpeg_quality", 95)))
