"""QR decoding against distortion: zxing-cpp and pyzbar side by side on 1280×720 frames.

Frames are made with segno at run time: a collection code on a phone screen,
then blurred, noised, dimmed, tilted in perspective or shrunk. A frame counts
as a success only when exactly the shown payload is decoded. pyzbar, measured
in the same run on the same frames, is the baseline for zxing's figures.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from kiosk.bench._stats import line, percentile

NAME = "qr"
HELP = "QR decode latency and success vs distortion, zxing vs pyzbar (1280x720 frames)"

# name -> frame parameters (see _frame)
CONDITIONS: dict[str, dict[str, float]] = {
    "clean": {},
    "blur σ1.0": {"blur": 1.0},
    "blur σ2.0": {"blur": 2.0},
    "noise σ12": {"noise": 12.0},
    "noise σ25": {"noise": 25.0},
    "low contrast 35%": {"contrast": 0.35},
    "low contrast 20%": {"contrast": 0.2},
    "tilt 25°": {"tilt": 25.0},
    "tilt 40°": {"tilt": 40.0},
    "small modules 3 px": {"module": 3.0},
    "small modules 2 px": {"module": 2.0},
    "phone: tilt 25° + blur 1 + dim 50% + noise 5": {
        "tilt": 25.0, "blur": 1.0, "contrast": 0.5, "noise": 5.0},
}
GOAL_CONDITION = "phone: tilt 25° + blur 1 + dim 50% + noise 5"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=60, help="frames per condition")
    parser.add_argument("--seed", type=int, default=1)


def _frame(payload: str, rng: np.random.Generator, blur: float = 0.0, noise: float = 0.0,
           contrast: float = 1.0, tilt: float = 0.0, module: float = 5.0) -> np.ndarray:
    import segno

    q = segno.make_qr(payload, error="m")
    m = np.array(list(q.matrix_iter(scale=1, border=4)), dtype=np.uint8)
    size = int(round(m.shape[0] * module * rng.uniform(0.95, 1.05)))
    code = cv2.resize((1 - m) * 255, (size, size), interpolation=cv2.INTER_NEAREST)
    code = code.astype(np.float32)
    frame = np.full((720, 1280), rng.uniform(40, 90), np.float32)
    x0 = int(rng.uniform(100, 1280 - size - 100))
    y0 = int(rng.uniform(20, max(21, 720 - size - 20)))
    src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
    t = np.radians(tilt * rng.uniform(0.8, 1.0))
    s = size * (1 - np.cos(t)) / 2 + size * 0.15 * np.sin(t)
    jitter = rng.uniform(-0.2, 0.2, (4, 2)) * s
    dst = np.float32([[x0 + s, y0 + s * 0.5], [x0 + size - s, y0 + s * 0.2],
                      [x0 + size, y0 + size], [x0, y0 + size - s * 0.3]]) + jitter
    roll = np.radians(rng.uniform(-12, 12))
    c = dst.mean(axis=0)
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]], np.float32)
    dst = ((dst - c) @ rot.T + c).astype(np.float32)
    warp = cv2.getPerspectiveTransform(src, dst)
    mask = cv2.warpPerspective(np.ones_like(code), warp, (1280, 720))
    frame = frame * (1 - mask) + cv2.warpPerspective(code, warp, (1280, 720)) * mask
    if contrast != 1.0:
        frame = 128 + (frame - 128) * contrast
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise:
        frame = frame + rng.normal(0, noise, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def run(args: argparse.Namespace) -> int:
    from hardware.qr import make_decoder

    decoders = {n: make_decoder(n) for n in ("zxing", "pyzbar")}
    rng = np.random.default_rng(args.seed)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    print(f"{args.frames} frames of 1280x720 per condition; success = exact payload decoded")
    print(f"{'condition':<46} {'zxing ok':>9} {'ms med':>7} {'ms p95':>7}"
          f"   {'pyzbar ok':>9} {'ms med':>7} {'ms p95':>7}")
    summary: dict[str, dict[str, list[float]]] = {n: {"ms": [], "ok": []} for n in decoders}
    goal: dict[str, tuple[float, float]] = {}
    for cond, params in CONDITIONS.items():
        frames, payloads = [], []
        for _ in range(args.frames):
            payload = "".join(rng.choice(list(alphabet), 16))
            payloads.append(payload.encode())
            frames.append(_frame(payload, rng, **params))
        row = f"{cond:<46}"
        for name, dec in decoders.items():
            dec.decode(frames[0])  # warm-up
            times, ok = [], 0
            for frame, payload in zip(frames, payloads, strict=True):
                t0 = time.perf_counter()
                got = dec.decode(frame)
                times.append(time.perf_counter() - t0)
                ok += got == [payload]
            rate = ok / len(frames)
            med = statistics.median(times) * 1000
            summary[name]["ms"] += times
            summary[name]["ok"].append(rate)
            if cond == GOAL_CONDITION:
                goal[name] = (rate, med)
            row += f" {rate * 100:8.1f}% {med:7.2f} {percentile(times, 95) * 1000:7.2f}  "
        print(row)
    print()
    for name in decoders:
        ms = summary[name]["ms"]
        print(line(f"{name}: median decode, all frames", statistics.median(ms) * 1000, "ms",
                   "≤ 5 ms" if name == "zxing" else ""))
        print(line(f"{name}: mean success over conditions",
                   statistics.mean(summary[name]["ok"]) * 100, "%"))
    zx, zb = summary["zxing"], summary["pyzbar"]
    ratio = statistics.median(zb["ms"]) / max(1e-9, statistics.median(zx["ms"]))
    print(line("speed ratio pyzbar/zxing (median, same frames)", ratio, "x"))
    rate, med = goal["zxing"]
    print(line("zxing success on the phone condition", rate * 100, "%", "≥ 99 %"))
    print(line("zxing median on the phone condition", med, "ms", "≤ 5 ms"))
    met = rate >= 0.99 and statistics.median(zx["ms"]) * 1000 <= 5.0
    print("goals met" if met else "GOALS NOT MET")
    return 0
