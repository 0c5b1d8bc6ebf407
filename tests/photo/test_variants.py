"""Variants made at test time (shifted, scaled, darker, another background) still come out right."""

from __future__ import annotations

import pytest

from kiosk.photo.pipeline import PhotoResult

from .measure import measure
from .test_make import assert_uniform_background

NAMES = ["shifted", "scaled", "darker", "other_background"]


@pytest.mark.parametrize("name", NAMES)
def test_variant_is_compliant_and_inside_every_band(made_variants, name: str, spec) -> None:
    result = made_variants[name]
    assert isinstance(result, PhotoResult), getattr(result, "detail", result)
    m = measure(result.jpeg, spec.bg_rgb)
    assert spec.hair_top[0] <= m.hair_top <= spec.hair_top[1], m.hair_top
    assert spec.eye_line[0] <= m.eye_y <= spec.eye_line[1], m.eye_y
    assert spec.face_width[0] <= m.face_width <= spec.face_width[1], m.face_width
    assert abs(m.face_cx - 240) <= spec.centre_tolerance
    assert_uniform_background(result.jpeg, spec.bg_rgb)  # the old wall or texture is gone


def test_same_sitter_lands_in_the_same_place(made_variants, spec) -> None:
    """Where the sitter was in the picture does not change the photo's geometry."""
    eyes = [measure(made_variants[n].jpeg, spec.bg_rgb).eye_y for n in NAMES]
    assert max(eyes) - min(eyes) < 12, eyes
