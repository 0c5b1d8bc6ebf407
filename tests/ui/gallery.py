"""Every visible state a student or operator can reach, rendered once and screenshotted.

A ``driver.Script`` generator played by ``run_sessions.py`` after the session
scenarios (one Kivy process for all of them). The sessions themselves reach
most screens; this adds what they pass too quickly or not at all: each
instruction, arrow and countdown digit of the capture screen (with the camera
frozen, so the screen holds still), a notice there, English through a whole
session, processing, review pass/warn/fail, every printer state, every
out-of-service reason and the operator's pages. Each shot has a ``.json``
beside it with the texts the screen means to show (``Player.shot``), which
``test_pixels.py`` reads back by OCR.

Names start with ``g_``; ``LANG_KEPT`` lists the English screens of one session.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kiosk_demo.driver import Step
from kiosk_demo.scenarios import DEMO_CODE, THIRD_CODE, Player, check

# Guidance code -> arrow, as kiosk.photo.guidance pairs them.
INSTRUCTIONS = {
    "no_face": "none", "multiple_faces": "none", "closer": "closer", "back": "back",
    "move_left": "left", "move_right": "right", "lower": "down", "higher": "up",
    "straighten": "tilt_left", "turn_face": "none", "chin_down": "down", "chin_up": "up",
    "look_at_lens": "none", "open_eyes": "none", "close_mouth": "none", "lighting": "none",
    "clothing": "none", "hair_too_high": "none", "hold_still": "none", "ready": "none",
}
ENGLISH = ["no_face", "move_left", "chin_up", "clothing", "ready"]
LANG_KEPT = ["g_en_welcome", "g_en_identify", "g_en_confirm", "g_en_capture_no_face"]


def _advice(code: str, arrow: str, ready: bool = False) -> Any:
    from kiosk.photo.guidance import Advice
    from kiosk.photo.messages import guidance_text

    zh, en = guidance_text(code)
    return Advice(code=code, zh=zh, en=en, arrow=arrow, ready=ready,
                  progress=1.0 if ready else 0.4)


def gallery(p: Player) -> Step:
    from kiosk.session import Notice

    app, d, s = p.app, p.d, p.s
    yield from d.wait_state("welcome")
    # English, chosen on the welcome screen, keeps its place through the session.
    yield from d.tap("lang")
    check(s.language == "en", "English chosen")
    yield from p.shot("g_en_welcome")
    yield from p.scan_code(THIRD_CODE)
    check(s.language == "en", "English kept after the scan")
    yield from p.shot("g_en_identify")
    feature = "EK43" if app.screens["identify"].feature_required else ""
    yield from p.identify("002X", feature)
    yield from d.wait_state("confirm")
    yield from p.shot("g_en_confirm")
    yield from d.tap("confirm_yes")
    yield from d.wait_state("capture")
    yield from d.wait(lambda: app.booth.slot.get() is not None, "live frames", 30)
    yield 0.5
    # Freeze the camera: the last frame stays on screen, guidance stops.
    app.auto_capture = False
    app.booth.camera.set_mode("off")
    yield 0.3
    capture = app.screens["capture"]

    def advise(code: str, ready: bool = False) -> None:
        app._advice(capture, _advice(code, INSTRUCTIONS[code], ready))

    capture.advice = ""  # before the first guidance: "starting the camera"
    capture.arrow = ""
    yield from p.shot("g_en_capture_waiting")
    for code in ENGLISH:
        advise(code)
        yield from p.shot(f"g_en_capture_{code}")
    capture.countdown = "2"
    yield from p.shot("g_en_capture_countdown_2")
    capture.countdown = ""
    s.set_language("zh")
    yield 0.1
    capture.advice = ""
    capture.arrow = ""
    yield from p.shot("g_capture_waiting")
    for code in INSTRUCTIONS:
        advise(code)
        yield from p.shot(f"g_capture_{code}")
    advise("ready", ready=False)
    for n in ("3", "2", "1"):
        capture.countdown = n
        yield from p.shot(f"g_capture_countdown_{n}")
        if n == "3":
            yield from grabbed_from_outside(p, "x_capture_countdown_3")
    yield from broken_drawing(p, capture)
    capture.countdown = ""
    from kiosk.app.i18n import tr

    capture.advice = tr("capture_taking", "zh")
    yield from p.shot("g_capture_taking")
    s.tell(Notice("err_internal"))
    yield from p.shot("g_capture_notice")
    s.tell(None)
    # Back to live guidance: the booth's own auto-capture takes the photo.
    app.auto_capture = True
    app.booth.camera.set_mode("guide")
    yield from p.take_photo()
    yield from review_states(p)
    # The completed order of the first student: printer states on the reprint screen.
    yield from printer_states(p)
    yield from out_of_service_states(p)
    yield from operator_pages(p)


def review_states(p: Player) -> Step:
    """The real review (pass), then the same report with items turned warn and fail."""
    from kiosk.photo.report import make_item

    app, s = p.app, p.s
    yield from p.d.wait_state("review", timeout=60)
    yield from p.shot("g_review_pass")
    report = s.data.report
    saved_ok, saved_items = s.data.photo_ok, list(report.items)

    def turned(verdict: str, names: list[str]) -> list[Any]:
        out = []
        for item in saved_items:
            if item.name in names:
                try:
                    item = make_item(item.name, item.value, item.limit, verdict, item.reason)
                except Exception:  # an item whose words need a reason: keep it as it was
                    pass
            out.append(item)
        return out

    screen = app.screens["review"]
    for verdict, names, ok in (("warn", ["sharpness"], True),
                               ("fail", ["hair_top", "background"], False)):
        report.items = turned(verdict, names)
        s.data.photo_ok = ok
        screen.refresh(s, app)
        yield from rendered(p, screen)
        yield from p.shot(f"g_review_{verdict}")
    s.set_language("en")
    screen.refresh(s, app)
    yield from rendered(p, screen)
    yield from p.shot("g_en_review_fail")
    s.set_language("zh")
    report.items = saved_items
    s.data.photo_ok = saved_ok
    screen.refresh(s, app)
    # The processing screen, as it shows while the pipeline runs and while submitting.
    processing = app.screens["processing"]
    for state, name in (("processing", "g_processing"), ("submitting", "g_submitting")):
        from kiosk.app.i18n import tr

        processing.title = tr(f"{state}_title", "zh")
        processing.progress = 0.45
        app.sm.current = "processing"
        yield from p.shot(name)
    app.sm.current = "review"
    yield 0.1
    yield from p.d.tap("retake")
    yield from p.d.wait_state("capture")
    yield from p.d.tap("back")
    yield from p.d.wait_state("welcome")


def rendered(p: Player, screen: Any) -> Step:
    """Wait until the screen's per-photo texts are drawn: a report changed here by hand
    was not rendered ahead in the pipeline's worker, so the render thread draws it."""
    from kiosk.app.renderedlabel import drawing

    yield 0.05  # the labels see their new text at the next frame
    yield from p.d.wait(lambda: not drawing(screen), "review texts drawn", 30)


def printer_states(p: Player) -> Step:
    """Each printer state on the reprint screen of a completed order."""
    app, d, s = p.app, p.d, p.s
    yield from p.scan_code(DEMO_CODE)
    feature = "EK43" if app.screens["identify"].feature_required else ""
    yield from p.identify("1234", feature)
    yield from d.wait_state("confirm")
    yield from d.tap("confirm_yes")
    yield from d.wait_state("status", "capture")
    if s.state != "status" or s.data.order.state != "completed":
        # Run alone (KIOSK_UI_ONLY=gallery): the first scenario completes this order.
        s.back()
        yield from d.wait_state("welcome")
        return
    yield from d.tap("reprint")
    yield from d.wait_state("reprint")
    screen = app.screens["reprint"]
    yield from d.wait(lambda: screen.preview is not None, "the student's sheet preview", 30)
    yield from p.shot("g_reprint_layout1")
    yield from d.tap("layout2")
    yield from p.shot("g_reprint_layout2")
    yield from d.tap("layout1")
    states = [("queued", ""), ("printing", ""), ("attention", "printer_media_empty"),
              ("attention", "printer_ribbon"), ("attention", "printer_offline"),
              ("attention", "printer_other"), ("done", ""), ("failed", "")]
    saved = dataclasses.replace(s.data) if dataclasses.is_dataclass(s.data) else None
    for state, detail in states:
        s.data.print_state, s.data.print_detail = state, detail
        screen.refresh(s, app)
        yield from p.shot(f"g_print_{state}{'_' + detail.split('_', 1)[1] if detail else ''}")
    if saved is not None:
        s.data.print_state, s.data.print_detail = saved.print_state, saved.print_detail
    screen.refresh(s, app)
    yield from d.tap("reprint_done")
    yield from d.wait_state("welcome")


def out_of_service_states(p: Player) -> Step:
    """Each reason the booth stops serving, as the out-of-service screen says it."""
    from kiosk.app.i18n import notice_text
    from kiosk.session import Notice

    app = p.app
    screen = app.screens["out_of_service"]
    for key in ("oos_paused", "oos_camera", "oos_disk"):
        for lang in ("zh", "en"):
            app.lang = lang
            screen.reason = notice_text(Notice(key), lang)
            app.sm.current = "out_of_service"
            yield from p.shot(f"g_{'en_' if lang == 'en' else ''}{key}")
    app.lang = p.s.language
    p.s.tell(p.s.notice)  # back to the session's own screen
    app.sm.current = "welcome"
    yield 0.2


def operator_pages(p: Player) -> Step:
    from kiosk_demo.scenarios import open_operator_panel

    d = p.d
    yield from d.wait_state("welcome")
    yield from d.long_press("operator_corner", 2.3)
    yield from d.wait_state("operator_pin")
    yield from p.shot("g_operator_pin")
    for ch in "12":
        yield from d.tap(f"pin_{ch}")
    yield from p.shot("g_operator_pin_typing")
    yield from d.tap("pin_cancel")
    # The panel fills its device states as it opens (the app refreshes the screen it
    # switches to), then every 2 s: the shot needs no wait for a refresh.
    yield from open_operator_panel(p)
    yield from p.shot("g_operator")
    yield from d.tap("op_close")
    yield from d.wait_state("welcome")
    yield from d.tap("lang")
    yield from open_operator_panel(p)
    yield from p.shot("g_en_operator")
    yield from d.tap("op_close")
    yield from d.wait_state("welcome")
    if p.s.language != "zh":
        yield from d.tap("lang")


def broken_drawing(p: Player, capture: Any) -> Step:
    """The negative control: the capture screen as it was before its texts were drawn
    (each CachedLabel's texture set, no rectangle drawing it). The pixel test must
    fail on this shot; it proves the check would have caught that bug."""
    from kiosk.app.cachedlabel import CachedLabel

    labels = [w for w in capture.walk() if isinstance(w, CachedLabel)]
    for w in labels:
        w._rect.texture = None
        w._rect.size = (0, 0)
    yield from p.shot("broken_capture_countdown_1")
    for w in labels:
        w._place()


def grabbed_from_outside(p: Player, name: str) -> Step:
    """Ask the test process to grab the X display now (``NAME.grab`` in the shots folder)
    and hold the screen still until it has (``NAME.png`` appears); nothing without X."""
    import os

    if not os.environ.get("DISPLAY"):
        return
    request = p.out / f"{name}.grab"
    done = p.out / f"{name}.png"
    request.write_text("")
    yield (lambda: done.exists(), 30.0, lambda: f"outside grab {name}")
    yield 0.05
