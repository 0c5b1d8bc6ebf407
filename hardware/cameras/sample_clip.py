"""The simulated camera's sample clip, built at run time from the test portraits.

Each portrait walks in from the side and settles in the middle of a 1280×720
frame, then holds still, so the guidance has movement to react to and a calm
stretch in which it can say "ready". A JSON sidecar maps frame ranges to the
portrait file, so the simulated still is the full-resolution original.
Nothing here is committed: the clip lives in the cache directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hardware.cameras.base import Frame

WIDTH, HEIGHT = 1280, 720
FORMAT_VERSION = 2


def sidecar_path(clip: Path) -> Path:
    return clip.with_suffix(clip.suffix + ".json")


def _signature(files: list[Path], fps: float, seconds: float) -> str:
    h = hashlib.sha256(f"{FORMAT_VERSION}:{fps}:{seconds}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def _frames_for(image: Frame, count: int) -> list[Frame]:
    """A person arriving: off-centre and further away, then centred and still."""
    h, w = image.shape[:2]
    base = HEIGHT / h
    frames = []
    arrive = max(1, int(count * 0.6))
    for i in range(count):
        t = _ease(min(1.0, i / arrive))
        scale = base * (0.82 + 0.18 * t)
        dx = int((1.0 - t) * 220)
        dy = int((1.0 - t) * 40)
        nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        canvas = np.full((HEIGHT, WIDTH, 3), (88, 92, 96), np.uint8)
        x0 = (WIDTH - nw) // 2 + dx
        y0 = HEIGHT - nh + dy
        xs, ys = max(0, x0), max(0, y0)
        xe, ye = min(WIDTH, x0 + nw), min(HEIGHT, y0 + nh)
        canvas[ys:ye, xs:xe] = resized[ys - y0 : ye - y0, xs - x0 : xe - x0]
        frames.append(canvas)
    return frames


def ensure_sample_clip(
    cache_dir: str | Path,
    portraits_dir: str | Path,
    fps: float = 15.0,
    seconds_each: float = 2.0,
) -> Path:
    """Path of the sample clip, building it (MJPG .avi, 1280×720) when missing or stale.

    Both folders are the caller's (the kiosk fills ``camera.simulated`` from its
    own paths): a driver reads no environment of the program using it.
    """
    src = Path(portraits_dir)
    files = sorted(p for p in src.glob("*.jpg") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no portraits (*.jpg) in {src}")
    out_dir = Path(cache_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sig = _signature(files, fps, seconds_each)
    clip = out_dir / f"sample-clip-{sig}.avi"
    if clip.exists() and sidecar_path(clip).exists():
        return clip
    tmp = out_dir / f".{clip.stem}.{os.getpid()}.avi"
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write MJPG video {tmp}")
    segments = []
    index = 0
    per = max(2, int(round(fps * seconds_each)))
    try:
        for f in files:
            image = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if image is None:
                continue
            for frame in _frames_for(image, per):
                writer.write(frame)
            segments.append({"start": index, "end": index + per - 1, "source": str(f)})
            index += per
    finally:
        writer.release()
    meta = {"version": FORMAT_VERSION, "fps": fps, "frames": index, "segments": segments}
    side_tmp = out_dir / f".{clip.stem}.{os.getpid()}.json"
    side_tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(side_tmp, sidecar_path(clip))
    os.replace(tmp, clip)
    return clip


def load_segments(clip: str | Path) -> list[dict[str, Any]]:
    """The sidecar's frame ranges, or [] for a clip without one."""
    side = sidecar_path(Path(clip))
    if not side.exists():
        return []
    try:
        return list(json.loads(side.read_text(encoding="utf-8")).get("segments", []))
    except (OSError, ValueError):
        return []
