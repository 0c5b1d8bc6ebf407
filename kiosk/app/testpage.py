"""The operator's test page: the 4×6 sheet's frame and size marks, no student photo."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw


@dataclass
class TestSheet:
    image: Image.Image

    def pdf(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, "PDF", resolution=300.0)
        return buf.getvalue()


def test_sheet() -> TestSheet:
    img = Image.new("RGB", (1800, 1200), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 1799, 1199), outline="black", width=6)
    for x in range(0, 1800, 118):  # a mark every 10 mm
        d.line((x, 0, x, 40), fill="black", width=3)
    d.rectangle((100, 200, 100 + 413, 200 + 579), fill=(100, 197, 255))
    d.rectangle((700, 200, 700 + 295, 200 + 413), fill=(100, 197, 255))
    return TestSheet(img)
