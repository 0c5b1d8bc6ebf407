"""Print crops (1寸, 2寸) cut from the master with their own aspect and head size.

A print is never a resize of the 480x640 upload: the aspect ratios differ
(3:4 against about 5:7), so each size has its own head proportion from
``config/specs/print_sizes.toml`` and is cut from the high-resolution master.
"""

from __future__ import annotations

from PIL import Image

from kiosk.photo.master import Master
from kiosk.photo.spec import PrintSize, load_print_sizes


def print_box(master: Master, size: PrintSize) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in master pixels."""
    g = master.geometry
    mw, mh = master.image.size
    pw_px, ph_px = size.pixels
    aspect = pw_px / ph_px
    head = max(1.0, g["chin_y"] - g["crown_y"])
    ph = head / size.head_ratio
    ph = min(ph, mh, mw / aspect)  # a smaller head than asked rather than invented pixels
    pw = ph * aspect
    top = g["crown_y"] - size.top_ratio * ph
    left = g["face_cx"] - pw / 2
    top = min(max(0.0, top), mh - ph)
    left = min(max(0.0, left), mw - pw)
    return (left, top, left + pw, top + ph)


def cut_print(master: Master, size_name: str) -> Image.Image:
    sizes = load_print_sizes()
    if size_name not in sizes:
        raise KeyError(f"unknown print size {size_name!r}; known: {sorted(sizes)}")
    size = sizes[size_name]
    box = print_box(master, size)
    out = master.image.resize(size.pixels, Image.Resampling.LANCZOS, box=box)
    out.info["dpi"] = (size.dpi, size.dpi)
    return out
