"""The high-resolution matted master kept for prints, with its head geometry.

Prints need their own crops (other aspect ratios, other head sizes), so the
kiosk keeps the matted picture at 1600 px tall rather than the 480x640 upload
file, and records where the head is so no one has to detect it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

from durable import write_durable

GEOMETRY_KEY = "kiosk-geometry"
GEOMETRY_FIELDS = ("eye_y", "crown_y", "chin_y", "face_cx", "face_width")


@dataclass
class Master:
    image: Image.Image  # RGB
    geometry: dict[str, float]


def save_master(m: Master, path: str | Path) -> Path:
    import io

    info = PngImagePlugin.PngInfo()
    info.add_text(
        GEOMETRY_KEY, json.dumps({k: round(float(m.geometry[k]), 2) for k in GEOMETRY_FIELDS})
    )
    buf = io.BytesIO()
    m.image.convert("RGB").save(buf, "PNG", pnginfo=info, compress_level=3)
    return write_durable(path, buf.getvalue())


def load_master(path: str | Path) -> Master:
    with Image.open(path) as im:
        im.load()
        text = im.text.get(GEOMETRY_KEY) if hasattr(im, "text") else None
        if not text:
            raise ValueError(f"{path}: no {GEOMETRY_KEY} text chunk")
        geometry = {k: float(v) for k, v in json.loads(text).items()}
        missing = [k for k in GEOMETRY_FIELDS if k not in geometry]
        if missing:
            raise ValueError(f"{path}: geometry lacks {missing}")
        return Master(im.convert("RGB"), geometry)
