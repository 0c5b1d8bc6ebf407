"""A 100-megapixel JPEG is made into a photo with bounded memory (DCT-scaled decoding)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

# VmHWM, not ru_maxrss: Linux carries the forking parent's high-water mark
# (this test process, which just held the 100 MP array) across exec into ru_maxrss.
CHILD = """
import re, sys
from kiosk.photo.pipeline import make_photo
r = make_photo(sys.argv[1])
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print("ok", r.report.ok, hwm // 1024)
"""


@pytest.mark.slow
def test_hundred_megapixel_input_stays_bounded(girl: np.ndarray, tmp_path: Path) -> None:
    h, w = girl.shape[:2]
    k = (100e6 / (w * h)) ** 0.5
    big = cv2.resize(
        cv2.cvtColor(girl, cv2.COLOR_RGB2BGR),
        (round(w * k), round(h * k)),
        interpolation=cv2.INTER_LINEAR,
    )
    assert big.shape[0] * big.shape[1] >= 99e6
    path = tmp_path / "huge.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 85])
    del big
    env = os.environ | {"KIOSK_CONFIG": "/nonexistent/kiosk.toml"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    ok, compliant, peak_mb = proc.stdout.split()[-3:]
    assert compliant == "True"
    # A full decode alone would be 300 MB of pixels plus the models' ~250 MB.
    assert int(peak_mb) < 600, f"peak {peak_mb} MB"
