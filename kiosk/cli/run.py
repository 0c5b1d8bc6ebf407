"""``kiosk run``: the kiosk screen, full screen, with the booth's settings."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start the kiosk screen (full screen, booth settings)")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    p.add_argument("--hash-pin", metavar="PIN",
                   help="print the operator.pin_hash value for PIN and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.hash_pin:
        from kiosk.session.pin import hash_pin

        if not (args.hash_pin.isdigit() and 4 <= len(args.hash_pin) <= 12):
            print("kiosk run: the PIN must be 4 to 12 digits")
            return 3
        print(hash_pin(args.hash_pin))
        return 0
    from kiosk.app.launch import configure_kivy, make_app, prepare_display
    from kiosk.settings import load_settings
    from kiosk.wiring import state_dir

    settings = load_settings()
    xvfb = prepare_display()
    ui = settings.section("ui")
    configure_kivy(int(ui["width"]), int(ui["height"]),
                   bool(ui["fullscreen"]) and not args.windowed,
                   hide_cursor=bool(ui["hide_cursor"]))
    state = state_dir(settings)
    app = make_app(settings, state, printer_factory=_printer_factory(settings, state))
    try:
        app.run()
    finally:
        if xvfb is not None:
            xvfb.terminate()
    return 0


def _printer_factory(settings, state):  # noqa: ANN001, ANN202
    p = settings.section("printer")
    if not p.get("queue"):
        return None

    def make():  # noqa: ANN202
        from hardware.printing import PrintService

        return PrintService(p["queue"], state / p.get("journal", "print-journal.json"),
                            server=p.get("server") or None, media=p.get("media", ""),
                            stall_timeout=float(p.get("stall_timeout", 90.0)),
                            poll_interval=float(p.get("poll_interval", 0.5)))

    return make
