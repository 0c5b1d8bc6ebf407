"""The Kivy application: screens, the session, the booth's services, and the clocks.

Everything here runs on the UI thread and stays short: a frame upload, a
label update, a session call. The booth starts in a background thread so the
welcome screen is up at once; requests made before it is ready wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from hardware.health import Health
from kiosk.app import screens as sc
from kiosk.app import textrender
from kiosk.app.cachedlabel import CachedLabel
from kiosk.app.i18n import tr
from kiosk.app.preview import Preview  # noqa: F401  (used by the .kv file)
from kiosk.app.renderedlabel import RenderedLabel  # noqa: F401  (used by the .kv file)
from kiosk.app.widgets import CornerHotspot, SheetSchematic  # noqa: F401
from kiosk.services.booth_context import load_context
from kiosk.services.post import kivy_post
from kiosk.services.scanner import WedgeBuffer, classify
from kiosk.session import BoothContext, Notice, Session
from kiosk.session.config import SessionConfig
from kiosk.watchdog import Heartbeat, ready

log = logging.getLogger(__name__)
KV = Path(__file__).with_name("screens.kv")

SCREENS = {
    "welcome": sc.WelcomeScreen, "identify": sc.IdentifyScreen, "confirm": sc.ConfirmScreen,
    "status": sc.StatusScreen, "capture": sc.CaptureScreen, "processing": sc.ProcessingScreen,
    "review": sc.ReviewScreen, "submitted": sc.SubmittedScreen, "reprint": sc.ReprintScreen,
    "operator_pin": sc.OperatorPinScreen, "operator": sc.OperatorScreen,
    "out_of_service": sc.OutOfServiceScreen,
    "email": sc.EmailScreen, "email_sent": sc.EmailSentScreen,
}
CAMERA_MODE = {"welcome": "scan", "operator": "scan", "capture": "guide"}
PROGRESS_PERIOD = 0.1  # seconds between two steps of the processing bar


DESIGN_SIZE = (1280, 800)  # the window size the .kv layout's dp and sp are drawn for


def apply_scale(scale: float) -> float:
    """Scale every dp/sp of the layout: ``scale`` > 0 as given, else the window
    against the 1280×800 design (so a 1920×1080 panel gets 1.35, not small text).
    Called before the .kv file is read, whose sizes are computed once."""
    from kivy.metrics import Metrics

    if scale <= 0:
        w, h = Window.size
        scale = min(w / DESIGN_SIZE[0], h / DESIGN_SIZE[1])
    Metrics.density = scale
    return scale


def finish_switch(sm: ScreenManager) -> None:
    """End the screen change now. Even Kivy's NoTransition keeps the old screen on the
    canvas until its zero-length animation ends on the next frame, so one frame showed
    both screens' texts over each other (seen in recorded video and OCR)."""
    t = sm.transition
    if t.is_active and t._anim is not None:
        t._anim.cancel(t)
        t._on_complete()
        t._anim = None


class LazyPorts:
    """The booth's ports once it has started; requests made earlier wait for it."""

    QUIET = {"forget", "start_preview", "stop_preview"}

    def __init__(self) -> None:
        self.target: Any = None
        self.waiting: list[tuple[str, tuple[Any, ...]]] = []

    def attach(self, target: Any) -> None:
        self.target = target
        waiting, self.waiting = self.waiting, []
        for name, args in waiting:
            getattr(target, name)(*args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any) -> None:
            if self.target is not None:
                getattr(self.target, name)(*args)
            elif name not in self.QUIET:
                self.waiting.append((name, args))

        return call


class KioskApp(App):
    lang = StringProperty("zh")
    mirror = BooleanProperty(True)
    manual_shutter = BooleanProperty(True)
    title = "Diploma photo kiosk"

    def __init__(self, settings: Any, make_booth: Any, state_dir: Path, **kw: Any) -> None:
        super().__init__(**kw)
        self.settings = settings
        self.make_booth = make_booth  # (post) -> Booth, not started
        self.state_dir = Path(state_dir)
        self.booth: Any = None
        self.ready = False
        self.ports = LazyPorts()
        self.session: Session | None = None
        self.t_start = time.perf_counter()
        self.t_first_screen: float | None = None
        self.stall_max = 0.0
        self.stall_track = False
        self.preview_uploads = 0
        self._countdown_n = 0
        self._countdown_ev: Any = None
        self._processing_t = 0.0
        self._progress_t = 0.0
        self._last_screen = ""
        self.heartbeat: Any = None
        self.on_booth_ready: list[Any] = []
        self.preset_context: BoothContext | None = None

    # -- words ------------------------------------------------------------------
    def tr(self, key: str, _lang: str | None = None, **params: Any) -> str:
        return tr(key, self.lang, **params)

    # -- build ------------------------------------------------------------------
    def build(self) -> Any:
        ui = self.settings.section("ui")
        self.mirror = bool(ui["preview"]["mirror"])
        self.manual_shutter = bool(ui["capture"]["manual_shutter"])
        self.auto_capture = bool(ui["capture"].get("auto", True))
        config = SessionConfig.from_settings(self.settings)
        self.session = Session(self.ports, config)
        saved = self.preset_context or load_context(self.state_dir)
        if saved is not None:
            self.session.context = saved
        self.lang = self.session.language
        apply_scale(float(ui.get("scale", 0.0) or 0.0))
        text = ui["capture"]["text"]
        panel = dp(float(text["panel_dp"]))
        self.capture_fonts = {"countdown": sp(float(text["countdown_sp"])),
                              "arrow": sp(float(text["arrow_sp"])),
                              "advice": sp(float(text["instruction_sp"])),
                              "notice": sp(float(text["notice_sp"])),
                              "panel_width": panel,
                              "outline": dp(4),  # around the digit over the live picture
                              "advice_width": panel - dp(40)}  # the panel's inner width
        self.entry_font = sp(44)  # the characters of the 4-character entries
        # As Title, KLabel and KButton in the .kv.
        self.text_fonts = {"title": sp(36), "body": sp(22), "button": sp(26)}
        Builder.load_file(str(KV))
        self.sm = ScreenManager(transition=NoTransition())
        self.sm.bind(current=self._set_background)
        self.screens: dict[str, sc.KScreen] = {}
        for name, cls in SCREENS.items():
            screen = cls(name=name)
            self.screens[name] = screen
            self.sm.add_widget(screen)
        self._set_background(self.sm, self.sm.current)
        root = FloatLayout()
        root.add_widget(self.sm)
        gesture = ui["gesture"]
        size = float(gesture["size"])
        corner = str(gesture["corner"])
        hotspot = CornerHotspot(self.session.open_operator, size_hint=(None, None),
                                size=(size, size), hold=float(gesture["hold_seconds"]))
        hotspot.pos_hint = {
            "top_left": {"x": 0, "top": 1}, "top_right": {"right": 1, "top": 1},
            "bottom_left": {"x": 0, "y": 0}, "bottom_right": {"right": 1, "y": 0},
        }.get(corner, {"right": 1, "top": 1})
        hotspot.tag = "operator_corner"
        root.add_widget(hotspot)
        self.hotspot = hotspot
        self.session.listeners.append(self._on_session)
        self.wedge = WedgeBuffer(self._on_wedge)
        Window.bind(on_key_down=self._on_key_down)
        Window.bind(on_touch_down=lambda *_a: self.session.touch())
        self._on_session(self.session)
        return root

    def on_start(self) -> None:
        Clock.schedule_interval(self._tick, 0.5)
        Clock.schedule_interval(self._frame, 1 / 60)
        Clock.schedule_interval(self._health, 2.0)
        Clock.schedule_interval(self._meter, 0)
        Clock.schedule_once(self._first_frame, 0)
        self.heartbeat = Heartbeat()
        Clock.schedule_interval(self.heartbeat.tick, 1.0)
        self.heartbeat.start()
        threading.Thread(target=self._start_booth, name="booth-start", daemon=True).start()

    def _first_frame(self, _dt: float) -> None:
        self.t_first_screen = time.perf_counter() - self.t_start
        Clock.schedule_once(self._prebuild, 0.3)
        ready("welcome screen up")

    def _prebuild(self, _dt: float) -> None:
        """Make the letter keypad before any student comes, not at their first feature code."""
        identify = self.screens["identify"]
        shown = identify._keys_for or "digits"
        for kind in ("alnum", shown):
            identify.build_keys(kind, self)
        self._warm_capture_texts()

    def _warm_capture_texts(self) -> None:
        """Every instruction, arrow, digit and fixed notice the capture screen can show,
        uploaded now."""
        from kiosk.app.i18n import table
        from kiosk.photo.messages import guidance_texts

        f = self.capture_fonts
        langs = ("zh", "en")
        advice = [t for zh, en in guidance_texts() for t in (zh, en)]
        advice += [tr("capture_waiting", lang) for lang in langs]
        arrows = sorted({v for lang in langs for k, v in table(lang).items()
                         if k.startswith("arrow_")})
        n = CachedLabel.warm(advice, f["advice"], wrap_width=f["advice_width"])
        n += CachedLabel.warm(arrows, f["arrow"])
        n += CachedLabel.warm([str(i) for i in range(1, 10)], f["countdown"], bold=True,
                              outline_width=f["outline"])
        n += CachedLabel.warm(sc.DIGITS + sc.ALNUM + [sc.ENTRY_BLANK], self.entry_font)
        n += CachedLabel.warm([tr(k, lang) for k in ("processing_title", "submitting_title")
                               for lang in langs], self.text_fonts["title"], bold=True)
        n += CachedLabel.warm([tr(k, lang) for k in ("identify_busy", "identify_hint_last4",
                                                     "identify_hint_feature")
                               for lang in langs], self.text_fonts["body"])
        # Words that change on a tap: copies (-/+), retakes left, submit greyed out.
        limits = self.session.config if self.session is not None else SessionConfig()
        n += CachedLabel.warm([tr("reprint_copies", lang, n=i) for lang in langs
                               for i in range(1, limits.max_copies + 1)], self.text_fonts["body"])
        n += CachedLabel.warm([tr("review_retake", lang, n=i) for lang in langs
                               for i in range(limits.retakes + 1)]
                              + [tr("review_submit", lang) for lang in langs],
                              self.text_fonts["button"])
        notices = [v for lang in langs for k, v in table(lang).items()
                   if k.startswith(("err_", "oos_", "info_")) and "{" not in v]
        n += CachedLabel.warm(notices, f["notice"], wrap_width=f["advice_width"])
        log.debug("capture screen: %d label textures ready", n)
        Clock.schedule_once(self._warm_screens, 0.2)

    def _warm_screens(self, _dt: float) -> None:
        """Lay out and draw every other screen once off-screen, so their labels'
        textures are filled now, not in the first frame a student sees of each
        (a 100+ ms stall under a software renderer)."""
        hidden = [s for s in self.screens.values() if s.parent is None]
        for screen in hidden:
            screen.size = Window.size  # layouts follow on the next frames

        def draw(_dt: float) -> None:
            from kivy.graphics import Fbo

            # The keypad not shown now (letters or digits) is no screen's child yet.
            keys = [b for pad in self.screens["identify"].__dict__.get("_keypads", {}).values()
                    for b in pad if b.parent is None]
            for widget in hidden + keys:
                if widget.parent is not None and widget in hidden:
                    continue  # shown meanwhile: the window draws it anyway
                fbo = Fbo(size=(8, 8))
                fbo.add(widget.canvas)
                fbo.draw()
                fbo.remove(widget.canvas)

        Clock.schedule_once(draw, 0.2)

    def _start_booth(self) -> None:
        try:
            booth = self.make_booth(kivy_post).start()
        except Exception as exc:
            log.exception("booth did not start")
            kivy_post(self._booth_failed, exc)
            return
        kivy_post(self._booth_started, booth)

    def _booth_started(self, booth: Any) -> None:
        self.booth = booth
        booth.camera.on_qr = self._on_qr
        booth.camera.on_health = lambda st: self._health(0)
        booth.ports.bind(self.session)
        booth.pipeline.prepare = self._prepare_review
        self.ports.attach(booth.ports)
        self.ready = True
        self._set_camera_mode(self.session.state)
        self._health(0)
        for fn in self.on_booth_ready:
            fn(booth)

    def _prepare_review(self, outcome: Any) -> None:
        """In the pipeline's worker: render the review texts of a photo (or of the report
        of a refused one) before the session learns of it, so the UI thread only uploads."""
        report = getattr(outcome, "report", None)
        if report is None:
            return
        ok = bool(getattr(report, "ok", False)) and not isinstance(outcome, Exception)
        self.screens["review"].prerender(report, ok, self.session.language,
                                         getattr(outcome, "jpeg", None))

    def _booth_failed(self, exc: Exception) -> None:
        self.session.device_state("disk", "failed", Notice("oos_disk"))

    def on_stop(self) -> None:
        if getattr(self, "_stopped", False):
            return  # on_stop may fire twice
        self._stopped = True
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.booth is not None:
            self.booth.stop()

    # -- session → screens -----------------------------------------------------
    def _on_session(self, s: Session) -> None:
        self.lang = s.language
        name = sc.SCREEN_OF[s.state]
        if name != self._last_screen:
            self._leave_screen(self._last_screen)
            self._last_screen = name
            self.sm.current = name
            finish_switch(self.sm)
            self._set_camera_mode(s.state)
            if name == "processing":
                self._processing_t = time.monotonic()
        if s.state == "welcome":
            # The student was wiped: no hidden screen may keep their words or photo.
            textrender.PREPARED.clear()
            for screen in self.screens.values():
                screen.refresh(s, self)
        else:
            self.screens[name].refresh(s, self)

    def _set_background(self, _sm: Any, name: str) -> None:
        screen = self.screens.get(name)
        if screen is not None:
            Window.clearcolor = screen.background

    def _leave_screen(self, name: str) -> None:
        if name == "capture":
            self._cancel_countdown()
        if name == "operator_pin":
            self.screens["operator_pin"].entered = ""
        screen = self.screens.get(name)
        if screen is not None and "preview" in screen.ids:
            screen.ids.preview.clear()

    def _set_camera_mode(self, state: str) -> None:
        if self.booth is not None and self.booth.camera is not None:
            self.booth.camera.set_mode(CAMERA_MODE.get(state, "off"))

    # -- clocks ------------------------------------------------------------------
    def _tick(self, _dt: float) -> None:
        self.session.tick()

    def _meter(self, dt: float) -> None:
        if self.stall_track:
            self.stall_max = max(self.stall_max, dt)

    def _frame(self, _dt: float) -> None:
        name = self.sm.current
        if name == "processing":
            # 10 steps a second look smooth; each step redraws the whole window,
            # and at 60 a second that took CPU from the pipeline it shows.
            now = time.monotonic()
            if now - self._progress_t >= PROGRESS_PERIOD:
                self._progress_t = now
                elapsed = now - self._processing_t
                self.screens[name].progress = min(0.95, 1 - 1 / (1 + elapsed / 2.0))
            return
        screen = self.screens[name]
        if self.booth is None or "preview" not in screen.ids:
            return
        frame = self.booth.slot.get()
        if screen.ids.preview.show(frame):
            self.preview_uploads += 1
            if name == "capture":
                self._advice(screen, frame.advice)

    def _advice(self, screen: sc.CaptureScreen, advice: Any) -> None:
        if advice is None:
            return
        lang = self.lang
        screen.advice = getattr(advice, lang, "") or getattr(advice, "zh", "")
        screen.arrow = tr(f"arrow_{getattr(advice, 'arrow', 'none') or 'none'}", lang)
        screen.progress = float(getattr(advice, "progress", 0.0) or 0.0)
        if getattr(advice, "ready", False):
            if self.auto_capture and self._countdown_ev is None and not self.session.busy:
                self._start_countdown()
        elif self._countdown_ev is not None:
            self._cancel_countdown()

    def _start_countdown(self) -> None:
        self._countdown_n = int(self.settings.get("ui.capture.countdown", 3))
        self.screens["capture"].countdown = str(self._countdown_n)
        self._countdown_ev = Clock.schedule_interval(self._count, 1.0)

    def _count(self, _dt: float) -> None:
        self._countdown_n -= 1
        capture = self.screens["capture"]
        if self._countdown_n > 0:
            capture.countdown = str(self._countdown_n)
            return
        self._cancel_countdown()
        capture.advice = tr("capture_taking", self.lang)
        self.session.shutter()

    def _cancel_countdown(self) -> None:
        if self._countdown_ev is not None:
            self._countdown_ev.cancel()
            self._countdown_ev = None
        self.screens["capture"].countdown = ""

    def _health(self, _dt: float) -> None:
        if self.booth is None:
            return
        health = self.device_health()
        self.booth.device_report.publish(health)  # for the upload worker's heartbeats
        self.session.device_state("camera", health["camera"].state, Notice("oos_camera"))
        self.session.device_state("disk", health["disk"].state, Notice("oos_disk"))
        if self.sm.current == "operator":
            self.screens["operator"].refresh(self.session, self)

    def device_health(self) -> dict[str, Health]:
        if self.booth is None:
            return {}
        return self.booth.health()

    def outbox_depth(self) -> int:
        return self.booth.center.depth() if self.booth is not None else 0

    # -- scanning ----------------------------------------------------------------
    def _on_key_down(self, _win: Any, key: int, _scancode: int, codepoint: str | None,
                     _mods: list[str]) -> bool:
        taken = self.wedge.key(codepoint, enter=key in (13, 271))
        if not taken and self.session.state == "identify" and codepoint:
            if codepoint.isalnum():
                self.session.key(codepoint)
            elif key == 8:
                self.session.backspace()
        return False

    def _on_wedge(self, payload: str) -> None:
        self._on_qr(payload.encode())

    def _on_qr(self, payload: bytes) -> None:
        keys = self.booth.public_keys if self.booth is not None else []
        scanned = classify(payload, keys, self.settings.section("scanner"))
        self.session.scan(scanned.kind, scanned.value, scanned.reason, scanned.context)

    # -- buttons that are not session events ----------------------------------------
    def toggle_language(self) -> None:
        self.session.set_language("en" if self.session.language == "zh" else "zh")

    def op_toggle_default_language(self) -> None:
        self.session.set_default_language("en" if self.session.config.language == "zh" else "zh")

    def op_retry_outbox(self) -> None:
        if self.booth is not None:
            self.booth.center.calls.submit(self.booth.center.kick)

    def op_resume_printer(self) -> None:
        if self.booth is not None:
            self.booth.printer.resume()

    def op_reconnect_camera(self) -> None:
        if self.booth is not None:
            self.booth.camera.reconnect()

    def op_test_print(self) -> None:
        if self.booth is None:
            return
        from kiosk.app.testpage import test_sheet

        self.booth.printer.test_print(test_sheet, lambda state, detail: None)
        self.session.tell(Notice("info_test_print", level="info"))

    def op_shutdown(self) -> None:
        command = str(self.settings.get("operator.shutdown_command", "") or "")
        if command:
            import shlex
            import subprocess

            threading.Thread(target=subprocess.run, args=(shlex.split(command),),
                             daemon=True).start()
        self.stop()
