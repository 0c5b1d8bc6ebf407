"""The simulated camera's frame rate: delivered (paced to the clip) and decoder capacity.

The booth's screen and guidance consume ``preview()`` frames; the simulated
camera must deliver the clip's own rate (15 fps for the sample clip) without
falling behind. The unpaced decode rate of the same clip, measured in the same
run, is the baseline: it shows the head-room left on this machine.
"""

from __future__ import annotations

import argparse
import time

from kiosk.bench._stats import line, median_ms, timed

NAME = "camera"
HELP = "simulated camera: delivered fps vs the clip's fps, decode capacity, still latency"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to read previews")
    parser.add_argument("--source", default="", help="video file (default: the sample clip)")


def run(args: argparse.Namespace) -> int:
    from hardware.cameras import open_camera
    from hardware.cameras.sample_clip import ensure_sample_clip
    from hardware.cameras.video import VideoClip
    from kiosk.paths import PORTRAITS_DIR, cache_dir

    t0 = time.perf_counter()
    source = args.source or str(ensure_sample_clip(cache_dir(), PORTRAITS_DIR))
    build = time.perf_counter() - t0
    cam = open_camera("simulated", {"simulated": {"source": source}})
    try:
        cam.preview(2.0)
        n, gaps, last = 0, [], time.perf_counter()
        end = last + args.seconds
        while time.perf_counter() < end:
            cam.preview(2.0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            n += 1
        fps = n / sum(gaps)
        clip_fps = float(cam.describe().get("fps", 15.0))
        stills = timed(lambda: cam.capture(5.0), repeat=10)
    finally:
        cam.close()
    raw = VideoClip(source, paced=False)
    t0 = time.perf_counter()
    frames = 0
    while frames < 150:
        raw.read()
        frames += 1
    capacity = frames / (time.perf_counter() - t0)
    raw.close()
    print(f"source: {source} (sample clip ready in {build:.2f} s)")
    print(line("clip frame rate", clip_fps, "fps"))
    print(line("delivered preview rate (paced)", fps, "fps", f"= {clip_fps:.0f} fps"))
    print(line("delivered / clip rate", fps / clip_fps, "x", "≈ 1.0"))
    print(line("worst gap between frames", max(gaps) * 1000, "ms"))
    print(line("unpaced decode capacity (baseline)", capacity, "fps"))
    print(line("capacity / clip rate (head-room)", capacity / clip_fps, "x"))
    print(line("still (capture) median", median_ms(stills), "ms"))
    return 0
