"""Settings every test starts from: no system config, a private state dir, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ["KIOSK_CONFIG"] = "/nonexistent/kiosk.toml"

PORTRAITS = Path(
    os.environ.get("KIOSK_PORTRAITS")
    or Path(__file__).resolve().parents[2] / "shared" / "testdata" / "portraits"
)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("KIOSK_STATE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def portraits() -> Path:
    return PORTRAITS


def center_conf() -> dict:
    """The ``[center_server]`` table as a booth's program parses it (here: the defaults)."""
    from kiosk.settings import load_settings

    return load_settings().section("center_server")
