"""A camera that plays a video file or a set of stills: the demo's and the tests' camera.

It behaves like a live camera (frames at the clip's rate, looping) so the rest
of the booth cannot tell it apart. The still is the full-resolution original of
what is on screen: the portrait file behind the current frame of the sample
clip, the current still file, or the current video frame as a JPEG. Never mirrored.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hardware.cameras.base import Camera, Frame
from hardware.cameras.geometry import PictureGeometry
from hardware.cameras.sample_clip import HEIGHT, WIDTH, ensure_sample_clip, load_segments
from hardware.cameras.video import VideoClip
from hardware.errors import DeviceError
from hardware.health import Health, healthy
from hardware.words import words

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def letterbox(image: Frame, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Frame:
    """The picture fitted whole on grey bars, as this camera previews a still image."""
    h, w = image.shape[:2]
    g = PictureGeometry.fitted((w, h), size)
    x0, y0, x1, y1 = (int(v) for v in g.box)
    canvas = np.full((size[1], size[0], 3), 90, np.uint8)
    canvas[y0:y1, x0:x1] = cv2.resize(image, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return canvas


def clip_geometry(still: tuple[int, int]) -> PictureGeometry:
    """Where the sample clip shows a portrait once the sitter has settled
    (height filling the frame, standing on its bottom edge, centred)."""
    w, h = still
    scale = HEIGHT / h
    nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
    x0, y0 = (WIDTH - nw) // 2, HEIGHT - nh
    return PictureGeometry((WIDTH, HEIGHT), still, (x0, y0, x0 + nw, y0 + nh))


class _Stills:
    """A set of still images shown one after another, ``seconds`` each, looping."""

    def __init__(
        self, files: list[Path], fps: float, seconds: float, size: tuple[int, int]
    ) -> None:
        self.files = files
        self.size = size
        self.still_sizes: list[tuple[int, int]] = []
        self.fps = fps
        self.per = max(1, int(round(fps * seconds)))
        self.frames = []
        for f in files:
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is None:
                raise DeviceError(
                    "still_unreadable",
                    *words("still_unreadable"),
                    f"cannot decode {f}",
                )
            self.still_sizes.append((bgr.shape[1], bgr.shape[0]))
            self.frames.append(cv2.cvtColor(letterbox(bgr, size), cv2.COLOR_BGR2RGB))
        self.index = -1
        self._t0 = 0.0

    def read(self) -> Frame:
        if self.index < 0:
            self._t0 = time.monotonic()
        else:
            delay = self._t0 + (self.index + 1) / self.fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.index = max(self.index + 1, int((time.monotonic() - self._t0) * self.fps))
        return self.frames[self.current_still()]

    def current_still(self) -> int:
        return (max(0, self.index) // self.per) % len(self.files)

    def close(self) -> None:
        self.frames = []


class SimulatedCamera(Camera):
    name = "simulated"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        source = str(opts.get("source") or "")
        fps = float(opts.get("fps") or 0.0)
        self.quality = int(opts.get("jpeg_quality", 95))
        self._segments: list[dict[str, Any]] = []
        self._sizes: dict[Path, tuple[int, int]] = {}
        self._stills: _Stills | None = None
        self._clip: VideoClip | None = None
        path = Path(source) if source else None
        if path is None:
            if not (opts.get("cache_dir") and opts.get("portraits_dir")):
                raise FileNotFoundError("simulated camera: no source, and no portraits_dir and "
                                        "cache_dir to build the sample clip from")
            clip = ensure_sample_clip(opts["cache_dir"], opts["portraits_dir"])
            self._open_clip(clip, fps)
        elif path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            files = (
                sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                if path.is_dir()
                else [path]
            )
            if not files:
                raise DeviceError(
                    "no_stills",
                    *words("no_stills"),
                    f"no images in {path}",
                )
            size = (int(opts.get("width") or WIDTH), int(opts.get("height") or HEIGHT))
            self._stills = _Stills(files, fps or 15.0, float(opts.get("still_seconds", 2.0)), size)
        else:
            self._open_clip(path, fps)
        self.source = str(path) if path else str(self._clip.path if self._clip else "")

    def _open_clip(self, clip: Path, fps: float) -> None:
        if not clip.exists():
            raise DeviceError(
                "video_missing",
                *words("video_missing"),
                f"no such video {clip}",
            )
        self._clip = VideoClip(str(clip), fps=fps, loop=True)
        self._segments = load_segments(clip)

    @property
    def fps(self) -> float:
        return self._clip.fps if self._clip else self._stills.fps  # type: ignore[union-attr]

    def preview(self, timeout: float = 1.0) -> Frame:
        if self._clip is not None:
            return self._clip.read()
        assert self._stills is not None
        return self._stills.read()

    def current_source(self) -> Path | None:
        """The original image file behind what is on screen, if there is one."""
        if self._stills is not None:
            return self._stills.files[self._stills.current_still()]
        if self._clip is not None and self._segments:
            pos = self._clip.position
            for seg in self._segments:
                if seg["start"] <= pos <= seg["end"]:
                    return Path(seg["source"])
        return None

    def geometry(self) -> PictureGeometry | None:
        """The still behind the current frame, placed as the preview shows it."""
        if self._stills is not None:
            i = self._stills.current_still()
            return PictureGeometry.fitted(self._stills.still_sizes[i], self._stills.size)
        src = self.current_source()
        if src is None:
            return None  # a plain video: the still is the frame itself
        if src not in self._sizes:
            bgr = cv2.imread(str(src), cv2.IMREAD_COLOR)
            if bgr is None:
                return None
            self._sizes[src] = (bgr.shape[1], bgr.shape[0])
        return clip_geometry(self._sizes[src])

    def capture(self, timeout: float = 10.0) -> bytes:
        if (self._clip and self._clip.last is None) or (self._stills and self._stills.index < 0):
            self.preview(timeout)
        src = self.current_source()
        if src is not None and src.exists():
            return src.read_bytes()
        assert self._clip is not None and self._clip.last is not None
        bgr = cv2.cvtColor(self._clip.last, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise DeviceError("encode_failed", *words("encode_failed"))
        return buf.tobytes()

    def health(self) -> Health:
        return healthy(f"simulated camera playing {self.source}")

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "source": self.source, "fps": self.fps}

    def close(self) -> None:
        if self._clip:
            self._clip.close()
        if self._stills:
            self._stills.close()
