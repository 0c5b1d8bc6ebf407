"""``kiosk bench ui``: the screen's speed on the real app (SDL offscreen or a display).

Figures: start to first screen; preview frames shown per second on the capture
screen with live guidance from the simulated 1280×720 camera, against the
rate the camera thread produced in the same run (the ratio says whether the UI
keeps up); and the longest gap between two UI frames during a whole scripted
session (two students: identify, capture, pipeline, review, submit), i.e. the
worst stall.
"""

from __future__ import annotations

import argparse
import os
import time

NAME = "ui"
HELP = "first screen time, preview fps with guidance, longest UI stall in a session"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="how long to measure the preview (default 6)")
    parser.add_argument("--runs", type=int, default=3,
                        help="whole runs, each in its own process (one Kivy app per "
                             "process); figures as the range over them (default 3)")
    parser.add_argument("--probe", action="store_true",
                        help="report each UI stall over 100 ms: screen, UI-thread stacks, "
                             "CPU per thread (kiosk_demo.ui_probe)")


def run(args: argparse.Namespace) -> int:
    if args.runs > 1:
        return _runs(args)
    return _one(args)


def _runs(args: argparse.Namespace) -> int:
    """Each run in a child process; per-run figures with the load average, then ranges."""
    import json
    import subprocess
    import sys

    runs: list[dict[str, float]] = []
    for i in range(args.runs):
        cmd = [sys.executable, "-m", "kiosk", "bench", "ui", "--runs", "1",
               "--seconds", str(args.seconds)] + (["--probe"] if args.probe else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        figures = [ln for ln in proc.stdout.splitlines() if ln.startswith(FIGURES)]
        print(f"-- run {i + 1}/{args.runs}")
        print("\n".join(ln for ln in proc.stdout.splitlines() if not ln.startswith(FIGURES)))
        if proc.returncode != 0 or not figures:
            print(proc.stderr[-2000:])
            return proc.returncode or 3
        runs.append(json.loads(figures[-1][len(FIGURES):]))
    print(f"-- {len(runs)} runs (range min..max)")
    for key, label, goal in (("first_ms", "start to first screen (ms)", "<= 2000"),
                             ("fps", "preview shown, guidance on (fps)", ">= 25"),
                             ("ratio", "ratio shown / produced (x)", ""),
                             ("stall_ms", "longest UI stall in a whole session (ms)", "<= 100"),
                             ("load1", "load average, 1 min, at the end of a run", "")):
        vals = [r[key] for r in runs]
        print(f"{label:<44} {min(vals):8.2f} .. {max(vals):8.2f}"
              + (f"   (goal {goal})" if goal else ""))
    return 0


FIGURES = "FIGURES "  # the machine-readable line a child run prints last


def _one(args: argparse.Namespace) -> int:
    from kiosk.app.launch import configure_kivy, make_app, prepare_display
    from kiosk.bench._stats import line

    prepare_display(headless=not os.environ.get("DISPLAY"))
    from kiosk_demo.env import demo_context, demo_env

    env = demo_env()
    env.camera_options["simulated"]["source"] = ""  # the sample clip: 1280×720
    env.camera_options["simulated"]["fps"] = 30.0
    configure_kivy(1280, 800, False)
    app = make_app(env.settings, env.state_dir, env.camera_options, env.printer_factory,
                   embedded=True)
    app.preset_context = demo_context()
    from kiosk_demo import scenarios as sc
    from kiosk_demo.driver import Script

    figures: dict[str, float] = {}
    player = sc.Player(app, env.state_dir / "shots")
    probe = None
    if args.probe:
        from kivy.clock import Clock

        from kiosk_demo.ui_probe import StallProbe

        probe = StallProbe().start()
        Clock.schedule_interval(lambda _dt: probe.frame(app.sm.current, app.stall_track), 0)

    def script():
        d = player.d
        yield from player.scan_code(sc.DEMO_CODE)
        yield from player.identify("1234", "EK43")
        yield from d.wait_state("confirm")
        yield from d.tap("confirm_yes")
        yield from d.wait_state("capture")
        yield from d.wait(lambda: app.booth.slot.get() is not None, "frames", 30)
        yield 1.0
        app.auto_capture = False  # keep the preview running
        u0, c0, t0 = app.preview_uploads, app.booth.camera.frames, time.monotonic()
        yield args.seconds
        dt = time.monotonic() - t0
        figures["fps"] = (app.preview_uploads - u0) / dt
        figures["camera_fps"] = (app.booth.camera.frames - c0) / dt
        frame = app.booth.slot.get()
        figures["frame_w"] = frame.rgb.shape[1] if frame is not None else 0
        app.auto_capture = True
        yield from d.tap("back")
        yield from d.wait_state("welcome")
        app.stall_max = 0.0
        app.stall_track = True
        for _ in range(2):  # two students: identify, capture, pipeline, review, submit
            yield from player.scan_code(sc.DEMO_CODE)
            yield from player.identify("1234", "EK43")
            yield from d.wait_state("confirm")
            yield from d.tap("confirm_yes")
            yield from d.wait_state("capture", "status")
            if app.session.state == "status":
                yield from d.tap("withdraw")
            yield from player.take_photo()
            if app.session.data.photo_ok:
                yield from player.submit()
                yield from d.tap("submitted_done")
            else:
                yield from d.tap("retake")
                yield from d.tap("back")
            yield from d.wait_state("welcome")
        app.stall_track = False
        figures["stall_ms"] = app.stall_max * 1000

    result: dict[str, object] = {}

    def done(err):
        result["err"] = err
        app.stop()

    app.on_booth_ready.append(lambda _b: Script(script(), done))
    try:
        app.run()
    finally:
        env.close()
        if probe is not None:
            probe.stop()
    if result.get("err"):
        print(f"kiosk bench ui: session failed: {result['err']}")
        return 3
    print(line("start to first screen", (app.t_first_screen or 0) * 1000, "ms", "<= 2000 ms"))
    print(line(f"preview shown, guidance on ({int(figures['frame_w'])} px wide)",
               figures["fps"], "fps", ">= 25 fps"))
    print(line("camera thread frames (baseline, same run)", figures["camera_fps"], "fps"))
    print(line("ratio shown / produced", figures["fps"] / max(1e-9, figures["camera_fps"]),
               "x"))
    print(line("longest UI stall in a whole session", figures["stall_ms"], "ms", "<= 100 ms"))
    load1, load5, load15 = os.getloadavg()
    print(f"load average (1/5/15 min) {load1:.2f} {load5:.2f} {load15:.2f}; "
          f"{os.cpu_count()} cores")
    if probe is not None:
        print(probe.report())
    import json

    ratio = figures["fps"] / max(1e-9, figures["camera_fps"])
    print(FIGURES + json.dumps({"first_ms": (app.t_first_screen or 0) * 1000,
                                "fps": figures["fps"], "ratio": ratio,
                                "stall_ms": figures["stall_ms"], "load1": load1}))
    return 0
