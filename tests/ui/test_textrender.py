"""Texts rendered off the UI thread (``kiosk.app.textrender``) are the pixels a Label draws.

The review screen's texts are laid out and rasterised in a worker or the render
thread; this checks, in a process of its own with a real (off-screen) window,
that those pixels are exactly what a Kivy ``Label`` widget with the same
properties draws on the UI thread, also while the UI thread renders other
texts of the same faces at the same time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.timeout(300)


def test_render_thread_pixels_match_a_label() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, str(HERE / "textrender_check.py")], env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(n > 100 for n in result["ink"]), result  # each text really has ink
    assert all(result["same_on_ui_thread"]), result
    assert result["runs"] == 30 and result["same_from_thread"], result
