"""The package as pip sees it: declared dependencies, and the pins a Pi resolves."""

from __future__ import annotations

import importlib.util
from importlib.metadata import requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check_wheels():
    spec = importlib.util.spec_from_file_location("check_wheels", ROOT / "scripts" / "check_wheels.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_installed_package_declares_every_runtime_pin() -> None:
    declared = {r.split(";")[0].strip() for r in requires("diploma-kiosk") or [] if "extra ==" not in r}
    for name in ("base.txt", "hardware.txt", "center.txt", "ui.txt"):
        for line in (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                assert line.split(";")[0].strip() in declared, line


def test_pins_are_read_with_the_markers_of_a_raspberry_pi() -> None:
    pins = _check_wheels().pins([ROOT / "requirements" / "base.txt", ROOT / "requirements" / "hardware.txt"])
    assert "mediapipe==0.10.18" in pins and "mediapipe==0.10.21" not in pins
    assert any(p.startswith("evdev==") for p in pins)
