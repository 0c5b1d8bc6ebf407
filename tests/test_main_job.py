"""The README's run command, end to end: `kiosk demo` without a display.

It must run the real UI offscreen through a scripted session, leave a
screenshot of each screen, the final photo and the sheet, and log nothing of
the students it served: no collection code, no name, even at debug level.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from kiosk.paths import CONFIG_DIR


def test_demo_runs_offscreen_and_keeps_students_out_of_the_logs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "-v", "demo", "--out", str(out),
         "--state-dir", str(tmp_path / "state")],
        env=env, capture_output=True, text=True, timeout=240,
    )
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 0, logs[-3000:]

    photo = Image.open(out / "photo.jpg")
    assert photo.size == (480, 640) and photo.format == "JPEG"
    sheet = Image.open(out / "sheet.png")
    assert sheet.size == (1800, 1200)
    shots = sorted(out.glob("[0-9][0-9]_*.png"))
    names = {p.stem for p in shots}
    for screen in ("01_welcome", "02_identify", "04_confirm", "05_capture", "07_review",
                   "08_submitted", "10_reprint", "11_printer_attention", "12_printed"):
        assert screen in names, f"no screenshot of {screen}: {sorted(names)}"
    for shot in shots:
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
        assert pixels.std() > 8, f"{shot.name} is blank"

    with (CONFIG_DIR / "demo" / "roster.csv").open(encoding="utf-8") as fh:
        roster = list(csv.DictReader(fh))
    assert any("debug" in line.lower() for line in logs.splitlines()), "ran without -v?"
    for student in roster:
        assert student["collection_code"] not in logs, "a collection code reached the logs"
        assert student["name"] not in logs, "a student's name reached the logs"
