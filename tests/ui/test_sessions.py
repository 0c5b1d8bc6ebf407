"""Whole sessions on a real Kivy window (SDL offscreen + Mesa EGL), driven by touches.

All scenarios run in one subprocess (Kivy allows one App per process); each
test checks one scenario's outcome. Screenshots must not be blank, and the
screens without live video must match the committed references
(``tests/ui/references/*.png``, 160×100) within a tolerance. Refresh them after
an intended change of layout with::

    KIOSK_UPDATE_REFERENCES=1 .venv/bin/python -m pytest tests/ui -q
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
# The shared run of every scenario (conftest.ui_run) takes minutes on a busy machine.
pytestmark = pytest.mark.timeout(1800)
REFS = HERE / "references"
REF_SIZE = (160, 100)
# Mean absolute difference (0..255) allowed between a screenshot and its reference.
TOLERANCE = 6.0
STABLE_SCREENS = ["02_identify", "03_identify_filled", "04_confirm", "14_out_of_service",
                  "16_email_form", "17_email_sent", "18_submitted_queued"]
SCENARIOS = ["centralized_reprint", "scattered", "wrong_digits", "rejected_then_retaken",
             "withdrawn", "idle_timeout", "operator_panel", "batch_qr", "email_photo",
             "offline_submit", "gallery"]


@pytest.fixture(scope="module")
def run(ui_run: dict) -> dict:
    return ui_run  # conftest.py: one subprocess for every UI test module


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(run: dict, name: str) -> None:
    result = run["scenarios"].get(name)
    assert result is not None, f"{name} did not run"
    assert result["ok"], result["error"]


def test_screenshots_not_blank(run: dict) -> None:
    assert len(run["shots"]) >= 12
    for name, path in run["shots"].items():
        img = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        assert img.std() > 8.0, f"{name} looks blank"


def _small(path: str | Path) -> np.ndarray:
    img = Image.open(path).convert("RGB").resize(REF_SIZE, Image.BILINEAR)
    return np.asarray(img, dtype=np.float32)


@pytest.mark.parametrize("name", STABLE_SCREENS)
def test_screens_match_references(run: dict, name: str) -> None:
    shot = run["shots"][name]
    ref = REFS / f"{name}.png"
    if os.environ.get("KIOSK_UPDATE_REFERENCES") == "1":
        REFS.mkdir(exist_ok=True)
        Image.fromarray(_small(shot).astype(np.uint8)).save(ref)
    assert ref.exists(), f"no reference {ref.name}: run with KIOSK_UPDATE_REFERENCES=1"
    diff = float(np.abs(_small(shot) - _small(ref)).mean())
    assert diff <= TOLERANCE, f"{name} differs from its reference by {diff:.1f}"
