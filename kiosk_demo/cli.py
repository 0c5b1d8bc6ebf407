"""``kiosk demo``: the complete kiosk on embedded defaults (see kiosk_demo.env).

Registered with ``kiosk`` by the entry point ``kiosk.commands: demo``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the complete kiosk on embedded defaults (scripted "
                                    "and screenshotted when there is no display)")
    p.add_argument("--out", type=Path, default=Path("out/demo"),
                   help="where screenshots, the photo and the sheet go (default ./out/demo)")
    p.add_argument("--scripted", action="store_true",
                   help="play the scripted session even when a display is available")
    p.add_argument("--video", type=Path, default=None, metavar="FILE.mp4",
                   help="record the scripted session to this MP4 (H.264) from the "
                        "frames the app drew; implies --scripted")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="keep the demo's state here (default: a fresh temporary folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.app.launch import configure_kivy, make_app, prepare_display

    scripted = args.scripted or args.video is not None or not os.environ.get("DISPLAY")
    xvfb = prepare_display(headless=scripted)
    from kiosk_demo.env import demo_context, demo_env

    env = demo_env(args.state_dir)
    ui = env.settings.section("ui")
    configure_kivy(int(ui["width"]), int(ui["height"]), False, hide_cursor=False)
    app = make_app(env.settings, env.state_dir, env.camera_options, env.printer_factory,
                   embedded=True)
    app.preset_context = demo_context()
    result: dict[str, object] = {}
    out = args.out.resolve()
    try:
        if scripted:
            from kiosk_demo.driver import Script
            from kiosk_demo.scenarios import Player, centralized

            out.mkdir(parents=True, exist_ok=True)
            player = Player(app, out)

            recorder = None
            if args.video is not None:
                from kiosk_demo.recorder import Recorder

                def grab() -> object:
                    # Between two screens both are on the canvas for a frame: skip it.
                    return None if app.sm.transition.is_active else player.d.grab()

                recorder = Recorder(grab, args.video.resolve())

            def finished(err: BaseException | None) -> None:
                result["error"] = err
                if recorder is not None:
                    try:
                        result["frames"] = recorder.stop()
                    except Exception as exc:  # the session's own result comes first
                        result["video_error"] = exc
                app.stop()

            def begin(_booth: object) -> None:
                if recorder is not None:
                    recorder.start()
                Script(centralized(player, env.printed if env.cups else None,
                                   env.fault if env.cups else None), finished)

            app.on_booth_ready.append(begin)
            t0 = time.monotonic()
            app.run()
            err = result.get("error")
            for name, path in sorted(player.shots.items()):
                print(f"screen  {name:<24} {path}")
            for name, path in player.saved.items():
                print(f"{name:<7} {'':<24} {path}")
            if err:
                print(f"kiosk demo: scripted session failed: {err}", file=sys.stderr)
                return 3
            if args.video is not None:
                if result.get("video_error"):
                    print(f"kiosk demo: video not written: {result['video_error']}",
                          file=sys.stderr)
                    return 3
                print(f"video   {'':<24} {args.video.resolve()} ({result['frames']} frames)")
            how = "auto-capture after 3-2-1" if player.auto_captured else "operator's shutter"
            print(f"kiosk demo: photo taken by {how}")
            print(f"kiosk demo: scripted session done in {time.monotonic() - t0:.1f} s; "
                  f"first screen after {app.t_first_screen:.2f} s")
            return 0
        app.run()
        return 0
    finally:
        env.close()
        if xvfb is not None:
            xvfb.terminate()
