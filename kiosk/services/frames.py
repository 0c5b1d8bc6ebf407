"""The latest preview frame, handed from the camera thread to the UI thread.

A single slot, no lock: the camera thread replaces one reference (atomic in
CPython) and the UI thread reads it; the UI only ever wants the newest frame,
so a frame it did not get to in time is simply dropped, never queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Frame:
    seq: int
    rgb: np.ndarray  # downscaled to the displayed size, contiguous uint8 RGB
    advice: Any = None  # kiosk.photo.guidance.Advice, when guidance runs
    t: float = 0.0
    # The same pixels as RGBA for the texture upload: Mesa stores RGB textures
    # with four bytes a pixel and converted each RGB upload on the UI thread.
    rgba: np.ndarray | None = None


class LatestFrame:
    def __init__(self) -> None:
        self._frame: Frame | None = None

    def put(self, frame: Frame) -> None:
        self._frame = frame

    def get(self) -> Frame | None:
        return self._frame

    def clear(self) -> None:
        self._frame = None
