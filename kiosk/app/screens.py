"""One thin screen per session state: ``refresh`` copies what the session says into
properties; the ``.kv`` file lays them out; buttons call session methods.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from kiosk.app.i18n import notice_text, tr
from kiosk.app.keyboard import OnScreenKeyboard  # noqa: F401  (used by the .kv file)

# Which screen shows which session state.
SCREEN_OF = {
    "welcome": "welcome", "identify": "identify", "confirm": "confirm", "status": "status",
    "capture": "capture", "processing": "processing", "submitting": "processing",
    "review": "review", "submitted": "submitted", "reprint": "reprint", "printing": "reprint",
    "operator_pin": "operator_pin", "operator": "operator", "out_of_service": "out_of_service",
    "email": "email", "email_sent": "email_sent",
}
# Shortcut keys of the address keyboard when ui.keyboard.email_shortcuts is not set.
EMAIL_SHORTCUTS = ["@qq.com", "@163.com", "@126.com", "@gmail.com", ".com", ".cn", ".edu.cn"]

ENTRY_BLANK = "_"  # an empty place of the 4-character entries
DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0"]
ALNUM = list("ABCDEFGHJKLMNPQRSTUVWXYZ") + list("0123456789")


def speaker_of(app: Any) -> Any:
    """The app's speaker (``ui.speech``), made on first use; a test may set ``app.speaker``."""
    speaker = getattr(app, "speaker", None)
    if speaker is None:
        from kiosk.services.speech import make_speaker

        speaker = app.speaker = make_speaker(app.settings)
        app.bind(on_stop=lambda *_a: speaker.stop())
    return speaker


class KScreen(Screen):
    notice = StringProperty("")
    notice_info = BooleanProperty(False)
    # The window's clear colour while this screen shows: it is the page's
    # background, so no full-window rectangle is drawn again on top of the clear.
    background = (0.96, 0.97, 0.99, 1)

    def refresh(self, s: Any, app: Any) -> None:
        self.notice = notice_text(s.notice, s.language)
        self.notice_info = bool(s.notice and s.notice.level == "info")
        self.update(s, app)

    def update(self, s: Any, app: Any) -> None:
        """Screen-specific copying from the session."""


class WelcomeScreen(KScreen):
    context_line = StringProperty("")
    help_line = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        lang = s.language
        ctx = s.context
        if ctx is None:
            self.context_line = tr("welcome_context_none", lang)
        else:
            key = "welcome_context_batch" if ctx.centralized else "welcome_context_region"
            self.context_line = tr(key, lang, name=ctx.name or ctx.id)
        booth = app.settings.section("session").get("booth", {})
        self.help_line = tr("welcome_help", lang, phone=booth.get("help_line", ""),
                            hours=booth.get("opening_hours", ""))


class IdentifyScreen(KScreen):
    last4 = StringProperty("")
    feature = StringProperty("")
    field = StringProperty("last4")
    feature_required = BooleanProperty(False)
    busy = BooleanProperty(False)
    locked = BooleanProperty(False)
    _keys_for = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        d = s.data
        self.last4 = (d.last4 + "____")[:4]  # one character per CachedLabel cell
        self.feature = (d.feature + "____")[:4]
        self.field = d.field
        self.feature_required = s.feature_required
        self.busy = s.busy
        self.locked = s.locked_out
        kind = "digits" if d.field == "last4" else "alnum"
        if kind != self._keys_for:
            self._keys_for = kind
            self.build_keys(kind, app)

    def build_keys(self, kind: str, app: Any) -> None:
        # Each keypad's buttons are made once and only re-parented when the field
        # changes: creating 34 Buttons stalled the UI thread for 150-200 ms.
        grid = self.ids.keypad
        grid.clear_widgets()
        cache = self.__dict__.setdefault("_keypads", {})
        if kind not in cache:
            keys = DIGITS if kind == "digits" else ALNUM
            cache[kind] = [self._key_button(ch, kind, app) for ch in keys]
        grid.cols = 3 if kind == "digits" else 9
        for btn in cache[kind]:
            grid.add_widget(btn)

    @staticmethod
    def _key_button(ch: str, kind: str, app: Any) -> Button:
        btn = Button(text=ch, font_size="30sp" if kind == "digits" else "24sp",
                     background_normal="", background_color=(0.93, 0.95, 0.98, 1),
                     color=(0.1, 0.1, 0.1, 1))
        btn.tag = f"key_{ch}"
        btn.bind(on_release=lambda _b, c=ch: app.session.key(c))
        return btn


class ConfirmScreen(KScreen):
    name_line = StringProperty("")
    school_line = StringProperty("")
    level_line = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        st = s.data.student
        lang = s.language
        self.name_line = tr("confirm_name", lang, name=st.masked_name if st else "")
        self.school_line = tr("confirm_school", lang, school=st.school if st else "")
        self.level_line = tr("confirm_level", lang, level=st.level if st else "")


class StatusScreen(KScreen):
    order_line = StringProperty("")
    state_line = StringProperty("")
    message = StringProperty("")
    order_state = StringProperty("")
    busy = BooleanProperty(False)
    qr_texture = ObjectProperty(None, allownone=True)
    _qr_for = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        lang = s.language
        o = s.data.order
        self.order_state = o.state if o else ""
        self.order_line = tr("status_order", lang, order_no=o.order_no) if o else ""
        self.state_line = tr("status_state", lang, label=o.label or o.state) if o else ""
        messages = {"pending_review": "status_pending", "rejected": "status_rejected",
                    "processing": "status_processing", "completed": "status_completed",
                    "awaiting_photo": "status_awaiting"}
        self.message = tr(messages.get(self.order_state, "status_awaiting"), lang,
                          reason=(o.reason_text or o.reason_code) if o else "")
        self.busy = s.busy
        url = s.data.download_url
        if url != self._qr_for:
            self._qr_for = url
            if url:
                from kiosk.app.widgets import qr_png, texture_from_bytes

                self.qr_texture = texture_from_bytes(qr_png(url), "png")
            else:
                self.qr_texture = None


class EmailScreen(KScreen):
    """Name (pinyin) and address typed on the on-screen keyboard; the session keeps the text."""

    name_text = StringProperty("")
    address_text = StringProperty("")
    field = StringProperty("name")
    hint = StringProperty("")
    busy = BooleanProperty(False)

    def update(self, s: Any, app: Any) -> None:
        lang = s.language
        d = s.data
        self.field = d.email_field
        caret = "|"
        self.name_text = d.email_name + (caret if d.email_field == "name" else "")
        self.address_text = d.email_address + (caret if d.email_field == "address" else "")
        self.hint = tr("email_hint_name" if d.email_field == "name" else "email_hint_address",
                       lang)
        self.busy = s.busy
        kb = self.ids.keyboard
        kb.on_text = app.session.email_key
        kb.on_backspace = app.session.email_backspace
        shortcuts = list(app.settings.get("ui.keyboard.email_shortcuts", EMAIL_SHORTCUTS))
        words = {"space": tr("kb_space", lang), "backspace": tr("kb_backspace", lang)}
        if s.state == "welcome":  # nobody waiting: make the keys now, not at the first tap
            for layout in ("address", "name"):
                kb.prepare(layout, shortcuts, words)
        else:
            kb.show(d.email_field, shortcuts, words)


class EmailSentScreen(KScreen):
    line1 = StringProperty("")
    line2 = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        d = s.data
        self.line1 = tr("email_sent_line", s.language, address=d.email_address)
        self.line2 = tr("email_sent_name", s.language, name=d.email_name)


class CaptureScreen(KScreen):
    background = (0.08, 0.09, 0.1, 1)
    advice = StringProperty("")
    arrow = StringProperty("")
    countdown = StringProperty("")
    busy = BooleanProperty(False)
    progress = NumericProperty(0.0)

    def update(self, s: Any, app: Any) -> None:
        self.busy = s.busy

    def on_pre_enter(self, *_a: Any) -> None:
        # A new pose: the last student's instruction is neither shown nor taken as "said".
        self.advice = ""
        self.arrow = ""
        self.progress = 0.0

    # Spoken prompts: what the screen shows is what is said (the speaker paces it).
    def on_advice(self, _w: Any, text: str) -> None:
        if self.manager is not None and self.manager.current == self.name:
            from kivy.app import App

            app = App.get_running_app()
            speaker_of(app).say(text, app.lang)

    def on_countdown(self, _w: Any, text: str) -> None:
        if text and self.manager is not None and self.manager.current == self.name:
            from kivy.app import App

            app = App.get_running_app()
            speaker_of(app).say(text, app.lang, urgent=True)

    def on_leave(self, *_a: Any) -> None:
        from kivy.app import App

        app = App.get_running_app()
        if app is not None and getattr(app, "speaker", None) is not None:
            app.speaker.hush()


class ProcessingScreen(KScreen):
    title = StringProperty("")
    progress = NumericProperty(0.0)

    def update(self, s: Any, app: Any) -> None:
        key = "submitting_title" if s.state == "submitting" else "processing_title"
        self.title = tr(key, s.language)


def _report_text(items: list[Any], lang: str) -> str:
    """What needs attention in full sentences first; the passed items as one short line.

    25 items do not fit beside the photo, and a student must not miss the one
    that says what to change.
    """
    from kiosk.photo.messages import item_label

    order = {"fail": 0, "warn": 1}
    problems = sorted((i for i in items if i.verdict in order), key=lambda i: order[i.verdict])
    lines = [f"{'×' if i.verdict == 'fail' else '⚠'}  {getattr(i, lang, '') or i.name}"
             for i in problems]
    passed = [item_label(i.name)[0 if lang == "zh" else 1] for i in items if i.verdict == "pass"]
    if passed:
        head = tr("review_passed", lang, n=len(passed))
        sep = "、" if lang == "zh" else ", "
        lines.append(f"\n✓  {head}[size=16sp][color=5a6472]\n{sep.join(passed)}[/color][/size]")
    return "\n".join(lines)


VERDICT_COLORS = {True: (0.05, 0.5, 0.2, 1.0), False: (0.75, 0.1, 0.1, 1.0)}


def review_texts(report: Any, ok: bool, lang: str) -> dict[str, tuple[str, Any]]:
    """The review screen's per-photo texts: label id -> (text, colour or None)."""
    return {"verdict": (tr("review_ok" if ok else "review_bad", lang), VERDICT_COLORS[ok]),
            "items": (_report_text(getattr(report, "items", None) or [], lang), None)}


class ReviewScreen(KScreen):
    """Its verdict and list of check items are ``RenderedLabel``s: their pixels are made
    in the pipeline's worker as the photo is made (``prerender``), so the UI thread
    only uploads them when the photo arrives."""

    ok = BooleanProperty(False)
    verdict = StringProperty("")
    verdict_color = ListProperty(list(VERDICT_COLORS[False]))
    items_text = StringProperty("")
    retake_text = StringProperty("")
    photo_texture = ObjectProperty(None, allownone=True)
    _photo_id = NumericProperty(0)

    def update(self, s: Any, app: Any) -> None:
        lang = s.language
        d = s.data
        # Plain references a worker may use (prerender); ids is read on the UI thread.
        self.__dict__["_text_labels"] = {k: self.ids[k] for k in ("verdict", "items")}
        self.ok = d.photo_ok
        texts = review_texts(d.report, d.photo_ok, lang)
        self.verdict, color = texts["verdict"]
        self.verdict_color = list(color)
        self.items_text = texts["items"][0]
        self.retake_text = tr("review_retake", lang, n=s.retakes_left)
        if id(d.photo) != self._photo_id:
            self._photo_id = id(d.photo)
            decoded = self.__dict__.pop("_decoded", None)
            if d.photo and decoded is not None and decoded[0] is d.photo:
                from kiosk.app.widgets import texture_from_image

                self.photo_texture = texture_from_image(decoded[1])
            elif d.photo:
                from kiosk.app.widgets import texture_from_bytes

                self.photo_texture = texture_from_bytes(d.photo, "jpg")
            else:
                self.photo_texture = None

    def prerender(self, report: Any, ok: bool, lang: str, photo: bytes | None = None) -> None:
        """Render the texts of a report about to be shown and decode its photo, in the
        calling worker thread."""
        labels = self.__dict__.get("_text_labels") or {}
        for name, (text, color) in review_texts(report, ok, lang).items():
            if name in labels:
                labels[name].prerender(text, color)
        if photo:
            from kiosk.app.widgets import decode_jpeg

            self.__dict__["_decoded"] = (photo, decode_jpeg(photo))


class SubmittedScreen(KScreen):
    title = StringProperty("")
    line1 = StringProperty("")
    line2 = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        lang = s.language
        d = s.data
        if d.queued:
            self.title = tr("submitted_queued_title", lang)
            self.line1 = tr("submitted_queued", lang)
            self.line2 = ""
        else:
            o = d.submitted_order
            self.title = tr("submitted_title", lang)
            self.line1 = tr("submitted_order", lang, order_no=o.order_no if o else "")
            self.line2 = tr("submitted_next", lang)


class ReprintScreen(KScreen):
    layout = NumericProperty(1)
    copies = NumericProperty(1)
    printing = BooleanProperty(False)
    print_state = StringProperty("")
    print_line = StringProperty("")
    # The student's own sheet for the chosen layout (kiosk.app.sheetpreview), or None.
    preview = ObjectProperty(None, allownone=True)

    def update(self, s: Any, app: Any) -> None:
        lang = s.language
        d = s.data
        previews = self.__dict__.setdefault("_previews", {})
        if s.state == "welcome" or not d.code:
            previews.clear()  # the next student's sheet is never this one's
            self.__dict__["_preview_for"] = ""
        elif self.__dict__.get("_preview_for") != d.code and app.booth is not None:
            from kivy.clock import Clock

            from kiosk.app import sheetpreview

            self.__dict__["_preview_for"] = d.code
            previews.clear()

            def done(code: str, textures: dict) -> None:
                if self.__dict__.get("_preview_for") == code:
                    previews.update(textures)
                    self.preview = previews.get(int(self.layout))

            sheetpreview.start(app.booth, d.code, d.master,
                               lambda fn: Clock.schedule_once(lambda _dt: fn(), 0), done)
        self.preview = previews.get(int(d.layout))
        self.layout = d.layout
        self.copies = d.copies
        self.printing = s.state == "printing"
        self.print_state = d.print_state
        if d.print_state == "attention":
            what = tr(d.print_detail or "printer_other", lang)
            self.print_line = tr("print_attention", lang, what=what)
        elif d.print_state:
            self.print_line = tr(f"print_{d.print_state}", lang)
        else:
            self.print_line = ""


class OperatorPinScreen(KScreen):
    dots = StringProperty("")
    entered = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        self.dots = "● " * len(self.entered)

    def press(self, ch: str, app: Any) -> None:
        if ch == "del":
            self.entered = self.entered[:-1]
        elif ch == "ok":
            pin, self.entered = self.entered, ""
            app.session.enter_pin(pin)
        elif len(self.entered) < 12:
            self.entered += ch
        self.dots = "● " * len(self.entered)


class OperatorScreen(KScreen):
    context_line = StringProperty("")
    devices_text = StringProperty("")
    counters_line = StringProperty("")
    outbox_line = StringProperty("")
    paused = BooleanProperty(False)

    def update(self, s: Any, app: Any) -> None:
        if app.sm.current != self.name:
            # Not at every welcome: device health reads the outbox's database (a lock
            # shared with the upload thread), which stalled the UI thread there.
            return
        lang = s.language
        ctx = s.context
        self.context_line = tr("operator_context", lang,
                               name=(f"{ctx.name or ctx.id} ({ctx.kind})" if ctx else "—"))
        lines = []
        for device, st in app.device_health().items():
            word = tr(f"state_{st.state}", lang)
            detail = st.detail if len(st.detail) < 60 else st.detail[:57] + "..."
            if st.paper_left is not None:  # a printer that counts its sheets
                detail = f"{tr('paper_left', lang, n=st.paper_left)}  {detail}"
            lines.append(f"{tr('device_' + device, lang)}：{word}  {detail}")
        speech = speaker_of(app).status()
        if speech.state != "off":  # a health note only when the booth is meant to speak
            lines.append(f"{tr('device_speech', lang)}：{tr('state_' + speech.state, lang)}  "
                         f"{speech.detail[:57]}")
        self.devices_text = "\n".join(lines)
        s.counters.roll()
        self.counters_line = tr("operator_counters", lang, **s.counters.as_dict())
        self.outbox_line = tr("operator_outbox", lang, n=app.outbox_depth())
        self.paused = s.paused


class OutOfServiceScreen(KScreen):
    reason = StringProperty("")
    detail = StringProperty("")

    def update(self, s: Any, app: Any) -> None:
        self.reason = notice_text(s.out_of_service_reason, s.language)
