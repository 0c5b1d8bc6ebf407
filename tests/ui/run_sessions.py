"""Plays every UI scenario in one real Kivy app (one App per process) and writes
``results.json`` and screenshots into the folder given as argv[1].

Run by tests/ui/test_sessions.py in a subprocess; also usable by hand:
``.venv/bin/python tests/ui/run_sessions.py /tmp/ui-out``.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path


def main(out: Path) -> int:
    from kiosk.app.launch import configure_kivy, make_app, prepare_display

    prepare_display(headless=True)
    from kiosk.app.demo import demo_context, demo_env

    env = demo_env()
    configure_kivy(1280, 800, False)
    app = make_app(env.settings, env.state_dir, env.camera_options, env.printer_factory,
                   embedded=True)
    app.preset_context = demo_context()
    from kiosk.app import scenarios as sc
    from kiosk.app.driver import Script

    results: dict[str, dict] = {}
    player = sc.Player(app, out)

    def plan():
        yield "centralized_reprint", lambda: sc.centralized(player, env.printed, env.fault)
        box: dict[str, str] = {}

        def scattered():
            box["order"] = yield from sc.scattered(player)

        yield "scattered", scattered
        yield "wrong_digits", lambda: sc.wrong_digits(player)
        yield "rejected_then_retaken", lambda: sc.rejected_then_retaken(player, box["order"])
        yield "withdrawn", lambda: sc.withdrawn(player)
        yield "idle_timeout", lambda: sc.idle_timeout(player)
        yield "operator_panel", lambda: sc.operator_panel(player)

    steps = plan()

    def next_scenario(_booth=None) -> None:
        try:
            name, make = next(steps)
        except StopIteration:
            app.stop()
            return
        t0 = time.monotonic()

        def done(err: BaseException | None) -> None:
            results[name] = {
                "ok": err is None, "seconds": round(time.monotonic() - t0, 2),
                "error": "" if err is None else "".join(
                    traceback.format_exception_only(type(err), err)).strip(),
            }
            if err is not None and app.session.state != "welcome":
                app.session.close_operator()
                app.session.back()
            next_scenario()

        Script(make(), done)

    app.on_booth_ready.append(next_scenario)
    try:
        app.run()
    finally:
        env.close()
    (out / "results.json").write_text(json.dumps({
        "scenarios": results,
        "shots": {k: str(v) for k, v in player.shots.items()},
        "first_screen_s": app.t_first_screen,
    }, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
