"""A video file (or device) read at its own frame rate, looping at the end.

Shared by the simulated camera and the OpenCV backend on files: a booth's demo
must behave like a live camera, so frames are handed out when they are due,
not as fast as the decoder can go.
"""

from __future__ import annotations

import time

import cv2

from hardware.cameras.base import Frame
from hardware.errors import DeviceError
from hardware.words import words


class VideoClip:
    """Frames of a clip, paced to ``fps`` (the file's own rate unless overridden)."""

    def __init__(self, path: str, fps: float = 0.0, loop: bool = True, paced: bool = True) -> None:
        self.path = path
        self.cap = cv2.VideoCapture(path)
        if not self.cap.isOpened():
            raise DeviceError(
                "video_unreadable",
                *words("video_unopened"),
                f"cannot open video {path}",
            )
        self.fps = fps or self.cap.get(cv2.CAP_PROP_FPS) or 15.0
        self.frame_count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.loop = loop
        self.paced = paced
        self.index = -1  # index of the frame last returned
        self._t0 = 0.0
        self._last: Frame | None = None

    def _due_index(self) -> int:
        return int((time.monotonic() - self._t0) * self.fps)

    def read(self) -> Frame:
        """The next frame (RGB), waiting until it is due when paced."""
        if self.index < 0:
            self._t0 = time.monotonic()
        elif self.paced:
            due_at = self._t0 + (self.index + 1) / self.fps
            delay = due_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        want = self._due_index() if self.paced else self.index + 1
        want = max(want, self.index + 1)
        if self.paced and want > self.index + 4:
            # Fell far behind (a slow consumer): jump rather than decode every frame.
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, want % max(1, self.frame_count))
            self.index = want - 1
        frame = None
        while self.index < want:
            ok, frame = self.cap.read()
            if not ok:
                if not self.loop or self.frame_count == 0 and self.index < 0:
                    raise DeviceError(
                        "video_ended",
                        *words("video_ended"),
                        f"no more frames in {self.path}",
                    )
                self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self.cap.read()
                if not ok:
                    raise DeviceError(
                        "video_unreadable",
                        *words("video_unreadable"),
                        f"cannot read frames from {self.path}",
                    )
            self.index += 1
        assert frame is not None
        self._last = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return self._last

    @property
    def position(self) -> int:
        """Index of the current frame within the clip (after looping)."""
        if self.frame_count <= 0:
            return max(0, self.index)
        return max(0, self.index) % self.frame_count

    @property
    def last(self) -> Frame | None:
        return self._last

    def close(self) -> None:
        self.cap.release()
