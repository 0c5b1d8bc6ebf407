"""Whole sessions played on the real app with touches: the demo and the UI tests.

Each scenario is a generator for ``driver.Script``; it asserts what a student
would notice (the screen reached, the words shown) and records screenshots in
``shots`` (name → path). Words are checked against the app's own sentences
(``app.tr``) and the demo data (``config/demo``), never spelled here. The
center's side (a reviewer's decision, an order completed, the reprint list) goes
through the center's admin and review functions (``center_side``); the booth's
batch or region is set as an operator does it, by scanning the center's poster.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.app.renderedlabel import drawing
from kiosk_demo import center_side
from kiosk_demo.data import context, scenario, student_name
from kiosk_demo.driver import Driver, ScriptFailed, Step

# Rows of config/demo/roster.csv (code, last 4 of the ID): batch GD2026-01, feature code EK43.
DEMO_CODE = "DEMO2026GD000001"  # 1234
SECOND_CODE = "DEMO2026GD000002"  # 5678
THIRD_CODE = "DEMO2026GD000003"  # 002X
FOURTH_CODE = "DEMO2026GD000004"  # 9012
REGION = "R-GZ-01"


def check(cond: bool, what: str) -> None:
    if not cond:
        raise ScriptFailed(what)


class Player:
    def __init__(self, app: Any, out: Path, shots: dict[str, Path] | None = None) -> None:
        self.app = app
        self.d = Driver(app, timeout=25.0)
        self.out = out
        self.shots: dict[str, Path] = shots if shots is not None else {}
        self.saved: dict[str, Path] = {}
        self.auto_captured: bool | None = None  # None: no photo taken yet

    @property
    def s(self) -> Any:
        return self.app.session

    @property
    def center(self) -> Any:
        """The embedded center the booth talks to."""
        return self.app.booth.embedded.server

    def tr(self, key: str, **params: Any) -> str:
        """The app's own sentence for ``key`` in the language on screen."""
        return str(self.app.tr(key, **params))

    def shot(self, name: str) -> Step:
        """A screenshot, and beside it (``NAME.json``) the texts the screen means to show."""
        sm = self.app.sm
        yield (lambda: not sm.transition.is_active, 5.0, lambda: "screen change finished")
        yield (lambda: not drawing(sm.current_screen), 30.0, lambda: "texts rendered")
        # Two frames after the last change: the kv rules and triggers it set off have
        # run and the window has drawn it (a fixed pause only waits longer).
        yield from self.d.frames(2)
        self.shots[name] = self.d.screenshot(self.out / f"{name}.png")
        meant = {"screen": self.app.sm.current, "language": self.app.lang,
                 "texts": self.d.meant_texts(), "widgets": self.d.tagged_boxes()}
        # Written whole, after the picture: a reader watching the folder may take the
        # pair as soon as the .json is there (tests/ui/conftest.py reads them by OCR).
        tmp = self.out / f"{name}.json.tmp"
        tmp.write_text(json.dumps(meant, ensure_ascii=False, indent=0))
        tmp.replace(self.out / f"{name}.json")

    def in_thread(self, fn: Callable[[], Any], what: str) -> Step:
        """Harness work (DB, files) off the UI thread, so it never counts as a stall."""
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:
                box["error"] = exc

        threading.Thread(target=run, daemon=True).start()
        yield from self.d.wait(lambda: "value" in box or "error" in box, what, 60)
        if "error" in box:
            raise box["error"]
        return box["value"]

    # -- steps -----------------------------------------------------------------
    def scan_code(self, code: str) -> Step:
        yield from self.d.wait_state("welcome")
        yield from self.d.keys(code)  # the keyboard-wedge scanner types it
        yield from self.d.wait_state("identify")

    def open_completed_order(self) -> Step:
        """The demo student comes back to the booth for an order the center completed."""
        yield from self.scan_code(DEMO_CODE)
        yield from self.identify("1234", "EK43")
        yield from self.d.wait_state("confirm")
        yield from self.d.tap("confirm_yes")
        yield from self.d.wait_state("status")
        check(self.s.data.order.state == "completed", "order completed")

    def identify(self, last4: str, feature: str = "", shot: str = "") -> Step:
        for ch in last4:
            yield from self.d.tap(f"key_{ch}")
        if feature:
            if self.s.data.field != "feature":
                yield from self.d.tap("field_feature")
            for ch in feature:
                yield from self.d.tap(f"key_{ch}")
        if shot:
            yield from self.shot(shot)
        yield from self.d.tap("identify_submit")

    def take_photo(self, shots: bool = False) -> Step:
        yield from self.d.wait_state("capture")
        # Guidance runs on the live preview; auto-capture counts down once the pose holds.
        yield from self.d.wait(lambda: bool(self.app.screens["capture"].advice), "guidance", 30)
        if shots:
            yield from self.shot("05_capture")
        capture = self.app.screens["capture"]
        try:
            yield from self.d.wait(lambda: bool(capture.countdown) or self.s.state != "capture",
                                   "countdown", 15)
            if shots and capture.countdown:
                yield from self.shot("05_countdown")
            yield from self.d.wait(lambda: self.s.state != "capture", "auto-capture", 6)
            self.auto_captured = True
        except ScriptFailed:
            self.auto_captured = False
            yield from self.d.tap("shutter")  # the operator's manual shutter
        if shots and self.s.state == "processing":
            yield from self.shot("06_processing")
        yield from self.d.wait_state("review", timeout=60)

    def submit(self, shot: str = "") -> Step:
        check(self.s.data.photo_ok, f"photo refused: {self.s.notice}")
        yield from self.d.tap("submit")
        yield from self.d.wait_state("submitted", timeout=60)
        if shot:
            yield from self.shot(shot)
        order = self.s.data.submitted_order
        check(order is not None and len(order.order_no) == 18, "an order number is shown")
        check(order.order_no in self.d.text("order_line"), "order number on screen")
        return order.order_no

    def reprint_states(self) -> list[str]:
        """States of the reprint orders at the embedded center (the console's list)."""
        return center_side.reprint_states(self.center)

    def review(self, order_no: str, decision: str, reason: str = "") -> Step:
        """A reviewer at the center decides on the order's photo (off the UI thread)."""
        server = self.center

        def decide() -> None:
            try:
                center_side.decide(server, order_no, decision, reason)
            except center_side.NotPending as exc:
                raise ScriptFailed(str(exc)) from None

        yield from self.in_thread(decide, "reviewer decision")

    def set_booth_context(self, kind: str, ident: str, start: str = "welcome") -> Step:
        """The operator scans the center's poster for a batch or region on the panel."""
        payload = yield from self.in_thread(
            lambda: center_side.poster(self.center, kind, ident), "the center's poster")
        yield from open_operator_panel(self, start)
        yield from self.d.keys(payload)  # the scanner types the poster's text
        yield from self.d.wait(lambda: self.s.context is not None and self.s.context.id == ident,
                               f"the booth set to {kind} {ident}")
        yield from self.d.tap("op_close")
        yield from self.d.wait_state(start)


# -- scenarios ----------------------------------------------------------------------
def centralized(p: Player, printed: Callable[[], int] | None = None,
                fault: Callable[[str], None] | None = None) -> Step:
    """The README's session: batch QR booth, feature code, photo, order number; then the
    same student returns when the order is complete and prints a sheet (out of paper,
    refilled by the operator)."""
    d = p.d
    yield from d.wait_state("welcome")
    yield from d.wait(lambda: p.app.preview_uploads > 3, "live preview on welcome", 30)
    yield from p.shot("01_welcome")
    yield from p.scan_code(DEMO_CODE)
    yield from p.shot("02_identify")
    yield from p.identify("1234", "EK43", shot="03_identify_filled")
    yield from d.wait_state("confirm")
    from kiosk.redact import mask_name

    masked = mask_name(student_name(DEMO_CODE))
    check(masked in d.text("student_name"), f"masked name {masked!r} shown")
    yield from p.shot("04_confirm")
    yield from d.tap("confirm_yes")
    yield from p.take_photo(shots=True)
    yield from p.shot("07_review")
    data = p.s.data
    photo, master = data.photo, data.master
    p.saved["photo"] = p.out / "photo.jpg"
    yield from p.in_thread(lambda: p.saved["photo"].write_bytes(photo), "save photo")
    order_no = yield from p.submit(shot="08_submitted")
    from kiosk.sheets import render_sheet

    p.saved["sheet"] = p.out / "sheet.png"
    yield from p.in_thread(lambda: render_sheet(master, 1).image.save(p.saved["sheet"]),
                           "render sheet")
    yield from d.tap("submitted_done")
    yield from d.wait_state("welcome")
    check(p.s.data.code == "" and p.s.data.photo == b"", "session wiped after done")
    # The center approves and completes the order; the student comes back for prints.
    yield from p.review(order_no, "complete")
    yield from p.open_completed_order()
    yield from d.tap("download")
    yield from d.wait(lambda: p.app.screens["status"].qr_texture is not None, "download QR")
    yield from p.shot("09_status_completed")
    yield from d.tap("reprint")
    yield from d.wait_state("reprint")
    yield from d.tap("layout2")
    yield from d.tap("copies_plus")
    check(p.s.data.layout == 2 and p.s.data.copies == 2, "layout and copies chosen")
    yield from d.tap("layout1")
    yield from d.tap("copies_minus")
    reprint = p.app.screens["reprint"]
    yield from d.wait(lambda: reprint.preview is not None, "the student's sheet preview", 30)
    yield from p.shot("10_reprint")
    if fault is not None:
        fault("paper")
    yield from d.tap("print")
    if fault is not None:
        yield from d.wait(lambda: p.s.data.print_state == "attention", "printer attention", 60)
        check(p.tr("printer_media_empty") in d.text("print_line"), "out of paper explained")
        yield from p.shot("11_printer_attention")
        fault("")
        yield from operator_resume_printer(p)
        yield from d.wait_state("printing")
    yield from d.wait(lambda: p.s.data.print_state == "done", "printing done", 90)
    yield from p.shot("12_printed")
    if printed is not None:
        check(printed() == 1, f"exactly one job printed, got {printed()}")
        yield from d.wait(lambda: p.reprint_states() == ["shipped"],
                          "the center records the booth's reprint as printed (shipped)", 15)
    yield from d.tap("reprint_done")
    yield from d.wait_state("welcome")


def operator_resume_printer(p: Player) -> Step:
    """The operator opens the panel over the student's screen? No: the printing screen
    stays; the panel's resume is the operator's action, done here through its worker."""
    p.app.op_resume_printer()
    yield 0.2


def scattered(p: Player) -> Step:
    """A region booth (set by the operator's poster): no feature code asked."""
    yield from p.set_booth_context("region", REGION)
    yield from p.scan_code(SECOND_CODE)
    check(not p.app.screens["identify"].feature_required, "no feature code in a region")
    yield from p.identify("5678")
    yield from p.d.wait_state("confirm")
    yield from p.d.tap("confirm_yes")
    yield from p.take_photo()
    order_no = yield from p.submit()
    yield from p.d.tap("submitted_done")
    return order_no


def wrong_digits(p: Player) -> Step:
    yield from p.scan_code(THIRD_CODE)
    yield from p.identify("9999")
    yield from p.d.wait(lambda: p.s.notice is not None, "wrong digits message")
    check(p.s.state == "identify" and p.s.data.last4 == "", "entry cleared")
    yield from p.identify("002X")
    yield from p.d.wait_state("confirm")
    yield from p.d.tap("confirm_no")
    yield from p.d.wait_state("welcome")


def rejected_then_retaken(p: Player, order_no: str) -> Step:
    reason = scenario("reject")["reason_text"]
    yield from p.review(order_no, "reject", reason)
    yield from p.scan_code(SECOND_CODE)
    yield from p.identify("5678")
    yield from p.d.wait_state("confirm")
    yield from p.d.tap("confirm_yes")
    yield from p.d.wait_state("status")
    check(reason in p.app.screens["status"].message, "reason shown")
    yield from p.shot("rejected_status")
    yield from p.d.tap("status_retake")
    yield from p.take_photo()
    yield from p.d.tap("retake")  # one retake on the review screen
    yield from p.take_photo()
    check(p.s.retakes_left == p.s.config.retakes - 1, "retake counted")
    yield from p.submit()
    yield from p.d.tap("submitted_done")


def withdrawn(p: Player) -> Step:
    yield from p.scan_code(SECOND_CODE)
    yield from p.identify("5678")
    yield from p.d.wait_state("confirm")
    yield from p.d.tap("confirm_yes")
    yield from p.d.wait_state("status")
    check(p.s.data.order.state == "pending_review", "pending after resubmission")
    yield from p.d.tap("withdraw")
    yield from p.d.wait_state("capture")
    yield from p.d.tap("back")
    yield from p.d.wait_state("welcome")


def idle_timeout(p: Player) -> Step:
    from dataclasses import replace

    saved = p.s.config
    p.s.config = replace(saved, idle={"default": 1.5})
    try:
        yield from p.scan_code(FOURTH_CODE)
        yield from p.identify("90")
        yield from p.d.wait_state("welcome", timeout=10)
        check(p.s.data.code == "" and p.s.data.last4 == "", "nothing of the student kept")
        check(p.s.counters.timeouts >= 1, "timeout counted")
        check("90" not in p.app.screens["identify"].last4, "entry gone from the screen")
    finally:
        p.s.config = saved


def operator_panel(p: Player) -> Step:
    d = p.d
    yield from d.wait_state("welcome")
    yield from d.long_press("operator_corner", 2.3)
    yield from d.wait_state("operator_pin")
    for ch in "1111":
        yield from d.tap(f"pin_{ch}")
    yield from d.tap("pin_ok")
    check(p.s.state == "operator_pin" and p.s.notice.key == "err_pin_wrong", "wrong PIN refused")
    for ch in "2468":
        yield from d.tap(f"pin_{ch}")
    yield from d.tap("pin_ok")
    yield from d.wait_state("operator")  # the panel fills its device states as it opens
    devices = d.text("devices")
    for device in ("camera", "printer", "network", "disk", "outbox"):
        word = p.tr(f"device_{device}")
        check(word in devices, f"{word} in device list")
    counters = p.tr("operator_counters").split("{", 1)[0]  # the words before the figures
    check(counters in d.text("counters"), "today's counters")
    yield from p.shot("13_operator")
    yield from d.tap("op_pause")
    yield from d.tap("op_close")
    yield from d.wait_state("out_of_service")
    check(p.tr("oos_paused") in d.text("oos_reason"), "paused explained")
    yield from p.shot("14_out_of_service")
    yield from open_operator_panel(p, start="out_of_service")
    yield from d.tap("op_pause")  # now "resume service"
    yield from d.tap("op_close")
    yield from d.wait_state("welcome")


# -- the operator sets the batch; e-mail; center unreachable at submit -------------------
def open_operator_panel(p: Player, start: str = "welcome") -> Step:
    d = p.d
    yield from d.wait_state(start)
    yield from d.long_press("operator_corner", 2.3)
    yield from d.wait_state("operator_pin")
    for ch in "2468":
        yield from d.tap(f"pin_{ch}")
    yield from d.tap("pin_ok")
    yield from d.wait_state("operator")


def batch_qr(p: Player) -> Step:
    """The operator scans the batch poster QR the center signed: the booth's batch is set,
    shown and kept for the next start; a poster signed by another key changes nothing."""
    import os

    from kiosk import qr_payloads
    from kiosk.services.booth_context import load_context
    from kiosk_demo.env import DEMO_BATCH

    d = p.d
    genuine = yield from p.in_thread(
        lambda: center_side.poster(p.center, "batch", DEMO_BATCH), "the center's poster")
    shown = qr_payloads.classify(genuine).context  # read, not verified: to forge a copy
    if shown is None:
        raise ScriptFailed("the center's poster is not a batch QR")
    forged = qr_payloads.sign_context(os.urandom(32), {**shown.as_dict(), "id": "FORGED-01"})
    batch_name = context("batch", DEMO_BATCH).name
    yield from p.set_booth_context("region", REGION)
    check(batch_name not in p.app.screens["welcome"].context_line, "welcome shows the region")
    yield from open_operator_panel(p)
    if getattr(p.app, "speaker", None) is not None and p.app.speaker.enabled:
        yield from d.wait(lambda: p.tr("device_speech") in d.text("devices"),
                          "spoken prompts' health", 5)
    yield from d.keys(forged)  # the scanner types the poster's text
    yield 0.3
    check(p.s.context.id == REGION, "a poster signed by another key is refused")
    yield from d.keys(genuine)
    yield from d.wait(lambda: p.s.context.kind == "batch", "batch set by the poster")
    check(p.s.context.id == DEMO_BATCH and p.s.context.feature_required, "batch and feature")
    check(batch_name in d.text("context_line"), "operator panel shows the batch")
    yield from p.shot("15_operator_batch")

    def kept() -> Any:
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ctx = load_context(p.app.state_dir)  # as the next start reads it
            if ctx is not None and ctx.id == DEMO_BATCH:
                return ctx
            time.sleep(0.05)
        raise ScriptFailed("booth context not kept")

    kept_ctx = yield from p.in_thread(kept, "context kept")
    check(kept_ctx.kind == "batch", "kept for restarts")
    yield from d.tap("op_close")
    yield from d.wait_state("welcome")
    check(batch_name in p.app.screens["welcome"].context_line, "welcome shows the batch")


def type_on_keyboard(p: Player, text: str) -> Step:
    from kiosk.app.keyboard import tag_for

    for ch in text:
        yield from p.d.tap(tag_for(ch))


def email_photo(p: Player, inbox: Callable[[], list]) -> Step:
    """A student with a completed order sends the photo to an e-mail address typed on the
    on-screen keyboard; the center's mailer delivers it with the photo attached."""
    d = p.d
    yield from p.open_completed_order()
    yield from d.tap("email")
    yield from d.wait_state("email")
    yield from type_on_keyboard(p, "wu xiaoming")
    check(p.s.data.email_name == "Wu Xiaoming", f"pinyin name typed: {p.s.data.email_name!r}")
    yield from d.tap("email_field_address")
    yield from type_on_keyboard(p, "wxm")
    yield from d.tap("email_send")
    yield from d.wait(lambda: p.s.notice is not None, "address error")
    check(p.s.notice.key == "err_email_no_at" and "@" in d.text("notice"), "missing @ explained")
    yield from p.shot("16_email_form")
    yield from type_on_keyboard(p, "@gzcc")
    yield from d.tap("kb_.edu.cn")  # a shortcut key
    yield from d.tap("email_send")
    yield from d.wait_state("email_sent")
    check("wxm@gzcc.edu.cn" in d.text("email_sent_line"), "confirmation names the address")
    yield from p.shot("17_email_sent")
    yield from d.wait(lambda: bool(inbox()), "the e-mail at the SMTP server", 30)
    msg = inbox()[0]
    check("wxm@gzcc.edu.cn" in msg["To"] and "Wu Xiaoming" in msg["To"], f"To: {msg['To']}")
    parts = [part for part in msg.walk() if part.get_content_type() == "image/jpeg"]
    check(len(parts) == 1, "one photo attached")
    photo = parts[0].get_payload(decode=True)
    if "photo" in p.saved:
        check(photo == p.saved["photo"].read_bytes(), "the submitted photo itself is attached")
    check(photo[:2] == b"\xff\xd8", "a JPEG")
    yield from d.tap("email_sent_done")
    yield from d.wait_state("welcome")
    check(p.s.data.email_address == "", "address wiped")


def offline_submit(p: Player, speech: Any = None) -> Step:
    """The center goes down between identification and submit: the photo is kept in the
    outbox, the student is told so, and it uploads by itself once the center is back."""
    import time

    d = p.d
    center = p.app.booth.embedded
    capture = p.app.screens["capture"]
    shown: list[str] = []
    counted: list[str] = []
    capture.bind(advice=lambda _w, v: shown.append(v),
                 countdown=lambda _w, v: counted.append(v) if v else None)
    if speech is not None:
        speech.clear()
    yield from p.scan_code(FOURTH_CODE)
    yield from p.identify("9012", "EK43")
    yield from d.wait_state("confirm")
    yield from d.tap("confirm_yes")
    yield from d.wait_state("capture")
    check(capture.advice == "" or capture.advice in shown, "no instruction left from before")
    yield from p.in_thread(center.stop, "center down")
    frames0, uploads0 = p.app.booth.camera.frames, p.app.preview_uploads
    yield from p.take_photo()
    diag = (f"camera frames +{p.app.booth.camera.frames - frames0}, uploads "
            f"+{p.app.preview_uploads - uploads0}, mode {p.app.booth.camera.mode}, "
            f"advice {capture.advice!r}, speaker {p.app.speaker.status()}")
    spoken = list(speech.played) if speech is not None else []
    yield from d.tap("submit")
    yield from d.wait_state("submitted", timeout=60)
    check(p.s.data.queued and p.s.data.submitted_order is None, "queued, no order number")
    check(d.text("submitted_title") == p.tr("submitted_queued_title")
          and d.text("order_line") == p.tr("submitted_queued"),
          "saved, will be sent automatically")
    yield from p.shot("18_submitted_queued")
    depth = yield from p.in_thread(p.app.outbox_depth, "outbox depth")
    check(depth == 1, f"the photo is in the outbox ({depth})")
    yield from d.tap("submitted_done")
    yield from d.wait_state("welcome")
    yield from p.in_thread(center.start, "center back")

    def drained() -> int:
        deadline = time.monotonic() + 30
        while p.app.booth.center.depth() != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        return p.app.booth.center.depth()

    left = yield from p.in_thread(drained, "outbox drained")
    check(left == 0, f"uploaded once the center is back ({left} left)")
    def status_now() -> dict:
        # the session (and its grant) ended: ask as a new session would, identified
        client = p.app.booth.make_client()
        client.identify(FOURTH_CODE, "9012", "EK43", {"kind": "batch", "id": "GD2026-01"})
        try:
            return client.status(FOURTH_CODE)
        finally:
            client.end_grants()

    status = yield from p.in_thread(status_now, "order status")
    check(status["order"]["state"] == "pending_review", f"at the center: {status['order']}")
    if speech is not None:
        check_spoken(spoken, shown, counted, diag)


def check_spoken(spoken: list, shown: list[str], counted: list[str], diag: str = "") -> None:
    """What reached the (recording) loudspeaker: instructions that were on screen, in the
    order shown, then the countdown; real espeak-ng audio when it is installed."""
    import shutil

    texts = [t for _, t, _ in spoken]
    check(bool(texts), f"something was spoken (shown {shown}, counted {counted}; {diag})")
    guidance = [t for t in texts if t not in ("3", "2", "1")]
    i = 0
    for text in guidance:  # a subsequence of what the screen showed
        while i < len(shown) and shown[i] != text:
            i += 1
        check(i < len(shown), f"spoken {text!r} not shown in that order: {shown}")
    digits = [t for t in texts if t in ("3", "2", "1")]
    check(digits == counted, f"countdown {counted} spoken in order: {texts}")
    if shutil.which("espeak-ng"):
        check(all(w[:4] == b"RIFF" and len(w) > 4000 for _, _, w in spoken), "real audio")
