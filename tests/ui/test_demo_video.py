"""``kiosk demo --video``: the scripted session recorded from the frames the app drew."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import ocrcheck as oc  # noqa: E402

pytestmark = pytest.mark.timeout(900)


def test_demo_video_shows_the_session(tmp_path: Path) -> None:
    import av

    from kiosk.photo.messages import guidance_texts

    video = tmp_path / "session.mp4"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "kiosk", "demo", "--video", str(video),
                           "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "st")],
                          env=env, capture_output=True, text=True, timeout=800)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    with av.open(str(video)) as container:
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
