"""Guidance beside the camera thread: the preview keeps the camera's rate, guidance
takes the newest frame it has time for, and it judges the camera's real picture."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from hardware.cameras import open_camera
from kiosk.photo.guidance import Guide, GuideOptions
from kiosk.services.camera import CameraWorker
from kiosk.services.post import direct


class SlowCpuGuide:
    """A fake for what cannot run here: a CPU (a Raspberry Pi) on which each analysis
    takes ``delay`` seconds longer. It is the real Guide, run slower."""

    def __init__(self, guide: Guide, delay: float) -> None:
        self._guide, self.delay = guide, delay

    def __getattr__(self, name: str):
        return getattr(self._guide, name)

    def __setattr__(self, name: str, value) -> None:
        if name in ("_guide", "delay"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._guide, name, value)

    def update(self, frame: np.ndarray):
        time.sleep(self.delay)
        return self._guide.update(frame)


def test_preview_never_waits_for_a_slow_guide_and_ready_still_comes(
    portraits: Path, spec
) -> None:
    cam = open_camera("simulated", {"simulated": {"source": str(portraits / "asian_girl_indoor.jpg"),
                                                  "fps": 30.0}})  # fmt: skip
    opts = GuideOptions(stable_frames=4, switch_frames=2)
    worker = CameraWorker(lambda: cam, direct, preview_width=640, fps=30.0,
                          make_guide=lambda: SlowCpuGuide(Guide(spec, opts), 0.15))  # fmt: skip
    worker.set_mode("guide")
    worker.start()
    try:
        seen, stamps = [], []
        deadline = time.monotonic() + 20
        last = -1
        while time.monotonic() < deadline:
            f = worker.slot.get()
            if f is not None and f.seq != last:
                last = f.seq
                stamps.append(f.t)
                seen.append(f.advice)
                if f.advice is not None and f.advice.ready and len(stamps) > 60:
                    break
            time.sleep(0.005)
        assert seen and seen[-1] is not None and seen[-1].ready, seen[-1]
        gaps = np.diff(stamps[5:])
        # The preview keeps the camera's 30 fps although each analysis takes > 150 ms.
        assert np.median(gaps) < 1.5 / 30, np.median(gaps)
        g = worker.guide
        assert g.analysed < g.submitted / 3, (g.analysed, g.submitted)
        # It judged the camera's own geometry: the portrait letterboxed in 1280x720 (bars at
        # the sides), and as many still pixels per frame pixel as the portrait file has.
        h = Image.open(portraits / "asian_girl_indoor.jpg").size[1]
        geometry = g.guide.geometry
        assert geometry is not None and geometry.box[0] > 100
        assert abs(geometry.scale - h / 360) < 0.02, (geometry.scale, h)
    finally:
        worker.stop()
