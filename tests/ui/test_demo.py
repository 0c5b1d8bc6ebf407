"""``kiosk demo``, the README's run command, end to end without a display; one run
(``-v demo --video``) shared by the checks below, as the run is most of their cost.

It must run the real UI offscreen through a scripted session, leave a
screenshot of each screen, the final photo and the sheet, record the session
as an H.264 video from the frames the app drew, and log nothing of the
students it served: no collection code, no name, even at debug level.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.paths import CONFIG_DIR

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import ocrcheck as oc  # noqa: E402

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "-v", "demo", "--video", str(tmp / "session.mp4"),
         "--out", str(tmp / "out"), "--state-dir", str(tmp / "state")],
        env=env, capture_output=True, text=True, timeout=800,
    )
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 0, logs[-3000:]
    return {"out": tmp / "out", "video": tmp / "session.mp4", "logs": logs}


def test_demo_runs_offscreen_and_keeps_students_out_of_the_logs(demo: dict) -> None:
    out, logs = demo["out"], demo["logs"]
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


def test_demo_video_shows_the_session(demo: dict) -> None:
    import av

    from kiosk.photo.messages import guidance_texts

    with av.open(str(demo["video"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) >= 30, f"only {len(frames)} frames"
    assert frames[0].shape == (600, 960, 3)
    # The capture screen: its right-hand panel is dark; there the instruction is read.
    capture = [f for f in frames if f[:, -200:].mean() < 90 and f[:, :200].mean() < 90]
    assert capture, "no frame of the capture screen"
    wanted = {oc.normalize(zh) for zh, _en in guidance_texts()}
    read: set[str] = set()
    for frame in capture[len(capture) // 3::max(1, len(capture) // 4)][:4]:
        read |= {oc.normalize(ln.text) for ln in oc.read(np.ascontiguousarray(frame))}
        if read & wanted:
            break
    assert read & wanted, f"no instruction read in the video's capture frames: {read}"
