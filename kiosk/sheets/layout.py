"""Sheet layouts as data (``config/layouts/<n>.toml``): where each print goes on the paper."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kiosk import notices
from kiosk.errors import ConfigError, KioskError
from kiosk.paths import CONFIG_DIR

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Piece:
    size: str  # print size name (1寸, 2寸)
    x: int
    y: int
    width: int  # on the paper, after rotation
    height: int
    rotate: int  # 0 or 90 (counter-clockwise)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


@dataclass(frozen=True)
class Layout:
    number: int
    name: str
    title_zh: str
    title_en: str
    width_mm: float
    height_mm: float
    dpi: int
    pieces: tuple[Piece, ...]

    @property
    def pixels(self) -> tuple[int, int]:
        return (round(self.width_mm / MM_PER_INCH * self.dpi),
                round(self.height_mm / MM_PER_INCH * self.dpi))

    @property
    def points(self) -> tuple[float, float]:
        """Page size in PostScript points (1/72 inch): what the PDF's MediaBox says."""
        return (self.width_mm / MM_PER_INCH * 72.0, self.height_mm / MM_PER_INCH * 72.0)

    def count(self, size: str) -> int:
        return sum(1 for p in self.pieces if p.size == size)


def layouts_dir(configured: str = "") -> Path:
    return Path(configured) if configured else CONFIG_DIR / "layouts"


def _size_px(size: str, dpi: int) -> tuple[int, int]:
    from kiosk.photo.spec import load_print_sizes

    sizes = load_print_sizes()
    if size not in sizes:
        raise ConfigError(f"layout names unknown print size {size!r}; known: {sorted(sizes)}")
    s = sizes[size]
    return (round(s.width_mm / MM_PER_INCH * dpi), round(s.height_mm / MM_PER_INCH * dpi))


def load_layout(number: int, folder: str | Path = "") -> Layout:
    path = layouts_dir(str(folder)) / f"{number}.toml"
    if not path.exists():
        raise KioskError("unknown_layout", *notices.words("unknown_layout"),
                         f"no layout file {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        dpi = int(data.get("dpi", 300))
        pieces = []
        for block in data["blocks"]:
            w, h = _size_px(block["size"], dpi)
            rotate = int(block.get("rotate", 0))
            if rotate not in (0, 90):
                raise ConfigError(f"{path}: rotate must be 0 or 90, not {rotate}")
            if rotate == 90:
                w, h = h, w
            for row in range(int(block["rows"])):
                for col in range(int(block["cols"])):
                    x = int(block["x"]) + col * (w + int(block.get("gap_x", 0)))
                    y = int(block["y"]) + row * (h + int(block.get("gap_y", 0)))
                    pieces.append(Piece(block["size"], x, y, w, h, rotate))
        layout = Layout(number, str(data["name"]), str(data.get("title_zh", data["name"])),
                        str(data.get("title_en", data["name"])), float(data["page_width_mm"]),
                        float(data["page_height_mm"]), dpi, tuple(pieces))
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {type(exc).__name__}: {exc}") from None
    _check(layout, path)
    return layout


def _check(layout: Layout, path: Path) -> None:
    """Every piece on the paper, none over another: a layout error must stop, not print."""
    pw, ph = layout.pixels
    for p in layout.pieces:
        x0, y0, x1, y1 = p.box
        if x0 < 0 or y0 < 0 or x1 > pw or y1 > ph:
            raise ConfigError(f"{path}: {p.size} at ({x0},{y0}) runs off the {pw}x{ph} page")
    for i, a in enumerate(layout.pieces):
        for b in layout.pieces[i + 1 :]:
            ax0, ay0, ax1, ay1 = a.box
            bx0, by0, bx1, by1 = b.box
            if ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1:
                raise ConfigError(f"{path}: pieces at ({ax0},{ay0}) and ({bx0},{by0}) overlap")
