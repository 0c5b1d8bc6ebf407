"""Hardware tests: python-gphoto2's virtual camera needs VCAMERADIR before import."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The wheel's virtual USB camera reads its folder when gphoto2 is imported, so
# the folder is fixed for the whole session; tests fill, empty and remove it.
VCAMERA_DIR = Path(os.environ.setdefault("VCAMERADIR", tempfile.mkdtemp(prefix="kiosk-vcam-")))


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory: pytest.TempPathFactory, portraits: Path) -> Path:
    from hardware.cameras.sample_clip import ensure_sample_clip

    return ensure_sample_clip(tmp_path_factory.mktemp("cache"), portraits)


@pytest.fixture()
def vcamera(portraits: Path):
    """The virtual camera's folder holding one portrait; restored afterwards."""
    VCAMERA_DIR.mkdir(parents=True, exist_ok=True)
    for f in VCAMERA_DIR.iterdir():
        f.unlink()
    shutil.copy(portraits / "man_suit_office.jpg", VCAMERA_DIR / "a.jpg")
    yield VCAMERA_DIR
    VCAMERA_DIR.mkdir(parents=True, exist_ok=True)
