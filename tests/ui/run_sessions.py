"""Plays every UI scenario in one real Kivy app (one App per process) and writes
``results.json`` and screenshots into the folder given as argv[1].

Run by tests/ui/test_sessions.py in a subprocess; also usable by hand:
``.venv/bin/python tests/ui/run_sessions.py /tmp/ui-out``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(out: Path) -> int:
    from fakes import RecordingSink, SmtpServer

    from kiosk.app.launch import configure_kivy, make_app, prepare_display

    # A real SMTP server on loopback for the center's mailer; the outbox retries every
    # second (the center is stopped and restarted); spoken prompts on, with the
    # loudspeaker replaced by a recording fake (there is no sound device here).
    smtp = SmtpServer().start()
    config = out / "kiosk.toml"
    config.write_text(f"[center_server.smtp]\nport = {smtp.port}\n\n"
                      "[outbox]\nidle_poll_s = 1.0\n\n[ui.speech]\nenabled = true\n")
    os.environ["KIOSK_CONFIG"] = str(config)

    # On the X display the test gives (Xvfb), so it can grab the window from outside;
    # else SDL offscreen.
    prepare_display(headless=not os.environ.get("DISPLAY"))
    from kiosk_demo.env import demo_context, demo_env

    env = demo_env()
    configure_kivy(1280, 800, False)
    app = make_app(env.settings, env.state_dir, env.camera_options, env.printer_factory,
                   embedded=True)
    app.preset_context = demo_context()
    from kiosk.services.speech import make_speaker

    speech = RecordingSink()
    app.speaker = make_speaker(env.settings, sink=speech)
    import gallery  # imports Kivy: only after configure_kivy

    from kiosk_demo import scenarios as sc
    from kiosk_demo.driver import Script

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
        yield "batch_qr", lambda: sc.batch_qr(player)
        yield "email_photo", lambda: sc.email_photo(player, lambda: smtp.messages)
        yield "offline_submit", lambda: sc.offline_submit(player, speech)
        yield "gallery", lambda: gallery.gallery(player)

    only = [n for n in os.environ.get("KIOSK_UI_ONLY", "").split(",") if n]  # by hand
    steps = ((n, m) for n, m in plan() if not only or n in only)

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
        app.speaker.stop()
        env.close()
        smtp.stop()
    (out / "results.json").write_text(json.dumps({
        "scenarios": results,
        "shots": {k: str(v) for k, v in player.shots.items()},
        "first_screen_s": app.t_first_screen,
    }, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
