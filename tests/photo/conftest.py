"""Shared fixtures for the photo tests: the expensive make_photo results are made once."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.photo.imageio import decode_rgb
from kiosk.photo.pipeline import PhotoRefused, PhotoResult, make_photo
from kiosk.photo.spec import load_spec

# What each sample portrait must give. A portrait that cannot make a compliant
# photo must be refused for the reason a person would see in it.
EXPECTED = {
    "asian_girl_indoor.jpg": "ok",
    "asian_woman_longhair_grey.jpg": "ok",
    "asian_woman_street.jpg": "ok",
    "asian_woman_suit.jpg": ("framing", "proportions"),  # a high bun: hair top vs eye line
    "man_beard_grey.jpg": ("mouth_closed", "high"),  # broad grin, teeth apart
    "man_suit_office.jpg": ("mouth_closed", "high"),
    "two_faces_event.jpg": ("single_face", "high"),  # two people: refused, never cropped to one
}


def jpeg_bytes(rgb: np.ndarray, quality: int = 92, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def run(source) -> PhotoResult | PhotoRefused:
    try:
        return make_photo(source, load_spec("chsi_graduation"))
    except PhotoRefused as exc:
        return exc


@pytest.fixture(scope="session")
def spec():
    return load_spec("chsi_graduation")


@pytest.fixture(scope="session")
def made(portraits: Path) -> dict[str, PhotoResult | PhotoRefused]:
    return {name: run(portraits / name) for name in EXPECTED}


@pytest.fixture(scope="session")
def girl(portraits: Path) -> np.ndarray:
    return decode_rgb(portraits / "asian_girl_indoor.jpg")


def _variants(girl: np.ndarray) -> dict[str, np.ndarray]:
    h, w = girl.shape[:2]
    rng = np.random.default_rng(7)
    out = {}
    # Shifted: the sitter off to one side of a wider picture (edge pixels continue the wall).
    out["shifted"] = np.pad(girl, ((0, 0), (0, w // 2), (0, 0)), mode="edge")
    # Scaled: further away, a smaller head in a larger picture.
    k = 0.8
    small = np.asarray(Image.fromarray(girl).resize((round(w * k), round(h * k)), Image.LANCZOS))
    canvas = np.pad(
        small, ((h - small.shape[0], 0), ((w - small.shape[1]) // 2,) * 2, (0, 0)), mode="edge"
    )
    out["scaled"] = canvas
    # Darker: under-lit booth, still inside the exposure band.
    out["darker"] = np.clip(girl.astype(np.float32) * 0.72, 0, 255).astype(np.uint8)
    # Another background: a warm textured wall around the sitter.
    wall = np.empty((h + 80, w + 200, 3), np.uint8)
    wall[:] = (205, 170, 120)
    wall = np.clip(wall + rng.normal(0, 10, wall.shape), 0, 255).astype(np.uint8)
    wall[80:, 100 : 100 + w] = girl
    out["other_background"] = wall
    return out


@pytest.fixture(scope="session")
def variants(girl: np.ndarray) -> dict[str, np.ndarray]:
    return _variants(girl)


@pytest.fixture(scope="session")
def made_variants(variants: dict[str, np.ndarray]) -> dict[str, PhotoResult | PhotoRefused]:
    return {name: run(jpeg_bytes(rgb)) for name, rgb in variants.items()}
