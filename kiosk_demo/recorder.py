"""``kiosk demo --video``: the scripted session as an MP4 of the frames the app drew.

Each tick grabs the window the way a screenshot does (``Driver.grab``) on the
UI thread; encoding (H.264, PyAV with the libx264 its wheel carries) runs in a
thread so the session keeps its pace. Frames are placed by wall-clock time at
a fixed rate, so a pause in the session is a pause in the video.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, grab: Callable[[], np.ndarray | None], path: Path, fps: float = 10.0,
                 width: int = 960) -> None:
        self.grab = grab
        self.path = Path(path)
        self.fps = fps
        self.width = width
        self.frames = 0
        self._queue: queue.Queue[tuple[float, np.ndarray] | None] = queue.Queue(maxsize=30)
        self._thread = threading.Thread(target=self._encode, name="video", daemon=True)
        self._event: Any = None
        self._t0 = 0.0
        self.error: BaseException | None = None

    def start(self) -> Recorder:
        from kivy.clock import Clock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._t0 = time.monotonic()
        self._thread.start()
        self._event = Clock.schedule_interval(self._tick, 1.0 / self.fps)
        return self

    def _tick(self, _dt: float) -> None:
        rgb = self.grab()
        if rgb is None:  # nothing to record at this instant (a screen change under way)
            return
        try:
            self._queue.put_nowait((time.monotonic() - self._t0, rgb))
        except queue.Full:  # the encoder is behind: this instant is skipped
            pass

    def stop(self) -> int:
        """Finish the file; returns the number of frames written."""
        if self._event is not None:
            self._event.cancel()
        self._queue.put(None)
        self._thread.join(60)
        if self.error is not None:
            raise self.error
        return self.frames

    def _encode(self) -> None:
        import av
        from PIL import Image

        try:
            with av.open(str(self.path), "w") as container:
                stream = None
                last = -1
                while (item := self._queue.get()) is not None:
                    t, rgb = item
                    h = round(rgb.shape[0] * self.width / rgb.shape[1]) // 2 * 2
                    img = Image.fromarray(rgb).resize((self.width, h), Image.BILINEAR)
                    if stream is None:
                        stream = container.add_stream("libx264", rate=int(self.fps))
                        stream.width, stream.height = img.size
                        stream.pix_fmt = "yuv420p"
                        stream.options = {"crf": "26", "preset": "veryfast"}
                    n = round(t * self.fps)
                    if n <= last:
                        continue
                    frame = av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24")
                    frame.pts = n
                    for packet in stream.encode(frame):
                        container.mux(packet)
                    last = n
                    self.frames += 1
                if stream is not None:
                    for packet in stream.encode(None):
                        container.mux(packet)
        except BaseException as exc:  # reported by stop()
            log.exception("video recording failed")
            self.error = exc
