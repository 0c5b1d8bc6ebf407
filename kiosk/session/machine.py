"""The session's states and transitions, declared as data (``transitions``).

Like pibooth's states, each state may have enter/exit actions: entering
``welcome`` wipes the student, entering ``capture`` starts the preview,
leaving it stops it. Screens map one-to-one to states. Public methods are what
a screen or a service calls; each checks its inputs, then fires a trigger.
Invalid triggers are ignored (a second tap on a button that already moved the
session on must not crash the booth).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from transitions import Machine, State

from kiosk.redact import code_ref
from kiosk.session import inputs
from kiosk.session.config import SessionConfig
from kiosk.session.model import BoothContext, Counters, Notice, Order, Student, StudentData
from kiosk.session.pin import check_pin
from kiosk.session.ports import Ports

log = logging.getLogger(__name__)
logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per event is noise

STUDENT_STATES = [
    "identify", "confirm", "status", "capture", "processing", "review",
    "submitting", "submitted", "reprint", "printing", "email", "email_sent",
]
STATES = ["welcome", *STUDENT_STATES, "operator_pin", "operator", "out_of_service"]

_STATE_OBJECTS: list[State | str] = [
    State("welcome", on_enter="_enter_welcome"),
    State("identify", on_enter="_enter_identify"),
    "confirm",
    "status",
    State("capture", on_enter="_enter_capture", on_exit="_exit_capture"),
    "processing",
    "review",
    "submitting",
    "submitted",
    State("reprint", on_enter="_enter_reprint"),
    "printing",
    State("email", on_enter="_enter_email"),
    "email_sent",
    State("operator_pin", on_enter="_enter_operator_pin"),
    "operator",
    "out_of_service",
]

_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "_t_identify", "source": "welcome", "dest": "identify"},
    {"trigger": "_t_identified", "source": "identify", "dest": "confirm"},
    {"trigger": "_t_confirm", "source": "confirm", "dest": "capture", "conditions": "_needs_photo"},
    {"trigger": "_t_confirm", "source": "confirm", "dest": "status"},
    {"trigger": "_t_retake", "source": ["status", "review"], "dest": "capture"},
    {"trigger": "_t_reprint", "source": "status", "dest": "reprint"},
    {"trigger": "_t_captured", "source": "capture", "dest": "processing"},
    {"trigger": "_t_processed", "source": "processing", "dest": "review"},
    {"trigger": "_t_process_failed", "source": "processing", "dest": "capture"},
    {"trigger": "_t_submit", "source": "review", "dest": "submitting"},
    {"trigger": "_t_submitted", "source": "submitting", "dest": "submitted"},
    {"trigger": "_t_submit_failed", "source": "submitting", "dest": "review"},
    {"trigger": "_t_order_locked", "source": "submitting", "dest": "status"},
    {"trigger": "_t_print", "source": "reprint", "dest": "printing"},
    {"trigger": "_t_email", "source": "status", "dest": "email"},
    {"trigger": "_t_email_sent", "source": "email", "dest": "email_sent"},
    {"trigger": "_t_status", "source": ["email", "email_sent"], "dest": "status"},
    {"trigger": "_t_end", "source": STUDENT_STATES, "dest": "welcome"},
    {"trigger": "_t_operator", "source": [s for s in STATES if s != "operator"],
     "dest": "operator_pin"},
    {"trigger": "_t_pin_ok", "source": "operator_pin", "dest": "operator"},
    {"trigger": "_t_leave_operator", "source": ["operator", "operator_pin"],
     "dest": "out_of_service", "conditions": "_out_of_service"},
    {"trigger": "_t_leave_operator", "source": ["operator", "operator_pin"], "dest": "welcome"},
    {"trigger": "_t_out_of_service", "source": "welcome", "dest": "out_of_service"},
    {"trigger": "_t_back_in_service", "source": "out_of_service", "dest": "welcome",
     "unless": "_out_of_service"},
]

UNREACHABLE = ("center_unreachable", "unreachable")


def _extra(exc: Any, name: str) -> Any:
    """A field of the center's error body (``CenterRefused.extra``) or of the exception."""
    extra = getattr(exc, "extra", None) or {}
    return extra.get(name, getattr(exc, name, None))


# Devices whose failure stops the service (no photo can be taken or kept).
BLOCKING_DEVICES = ("camera", "disk")


class Session:
    """One booth's session: the student in front of it, the operator, the service state."""

    state: str
    # Triggers that transitions.Machine adds to the model (see _TRANSITIONS);
    # declared so the type checker knows them.
    _t_back_in_service: Callable[..., bool]
    _t_captured: Callable[..., bool]
    _t_confirm: Callable[..., bool]
    _t_email: Callable[..., bool]
    _t_email_sent: Callable[..., bool]
    _t_end: Callable[..., bool]
    _t_identified: Callable[..., bool]
    _t_identify: Callable[..., bool]
    _t_leave_operator: Callable[..., bool]
    _t_operator: Callable[..., bool]
    _t_order_locked: Callable[..., bool]
    _t_out_of_service: Callable[..., bool]
    _t_pin_ok: Callable[..., bool]
    _t_print: Callable[..., bool]
    _t_process_failed: Callable[..., bool]
    _t_processed: Callable[..., bool]
    _t_reprint: Callable[..., bool]
    _t_retake: Callable[..., bool]
    _t_status: Callable[..., bool]
    _t_submit: Callable[..., bool]
    _t_submit_failed: Callable[..., bool]
    _t_submitted: Callable[..., bool]

    def __init__(self, ports: Ports, config: SessionConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ports = ports
        self.config = config or SessionConfig()
        self.clock = clock
        self.context: BoothContext | None = self.config.context
        self.language = self.config.language
        self.data = StudentData()
        self.notice: Notice | None = None
        self.busy = False
        self.ticket = 0
        self.counters = Counters()
        self.faults: dict[str, Notice] = {}
        self.paused = False
        self.pin_attempts = 0
        self.pin_locked_until = 0.0
        self.last_activity = clock()
        self.listeners: list[Callable[[Session], None]] = []
        self.machine = Machine(
            model=self, states=_STATE_OBJECTS, transitions=_TRANSITIONS, initial="welcome",
            auto_transitions=False, ignore_invalid_triggers=True,
            after_state_change="_after_change",
        )

    # ------------------------------------------------------------------ plumbing
    def _after_change(self) -> None:
        self.last_activity = self.clock()
        self._changed()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener(self)

    def tell(self, notice: Notice | None) -> None:
        """Show ``notice`` (None: clear it) on the current screen, e.g. the operator's
        "test page sent"; the screens redraw from the session as after any event."""
        self.notice = notice
        self._changed()

    def _say(self, key: str, level: str = "error", **params: Any) -> None:
        self.notice = Notice(key, params, level=level)
        self._changed()

    def _say_error(self, exc: Any) -> None:
        self.notice = Notice.from_error(exc)
        self._changed()

    def _fresh(self, ticket: int) -> bool:
        """An answer belongs to the current student (not to one wiped since)."""
        if ticket != self.ticket:
            log.info("dropped a stale answer (ticket %s, now %s)", ticket, self.ticket)
            return False
        self.busy = False
        return True

    def touch(self) -> None:
        """The student touched the screen: the idle clock starts again."""
        self.last_activity = self.clock()

    def idle_left(self) -> float | None:
        limit = self.config.idle_for(self.state)
        if limit is None:
            return None
        return limit - (self.clock() - self.last_activity)

    def tick(self) -> bool:
        """Called every second or so; wipes the session after the idle timeout."""
        left = self.idle_left()
        if left is None or left > 0:
            return False
        if self.state in STUDENT_STATES:
            self.counters.roll()
            self.counters.timeouts += 1
            self._t_end()
        else:
            self._t_leave_operator()
        return True

    # ------------------------------------------------------------------ state actions
    def _enter_welcome(self) -> None:
        self._wipe()
        if self._out_of_service():
            self._t_out_of_service()

    def _wipe(self) -> None:
        """Forget the student: data, pending answers, language, messages."""
        self.data = StudentData()
        self.ticket += 1
        self.busy = False
        self.notice = None
        self.language = self.config.language
        self.ports.forget()

    def _enter_identify(self) -> None:
        self.data.field = "last4"

    def _enter_capture(self) -> None:
        self.busy = False
        self.ports.start_preview()

    def _exit_capture(self) -> None:
        self.ports.stop_preview()

    def _enter_reprint(self) -> None:
        self.data.print_state = ""
        self.data.print_detail = ""

    def _enter_email(self) -> None:
        d = self.data
        d.email_field = "address" if d.email_name and not d.email_address else "name"

    def _enter_operator_pin(self) -> None:
        if self.data.code:
            self._wipe()

    def _needs_photo(self) -> bool:
        order = self.data.order
        return order is None or order.state == "awaiting_photo"

    def _out_of_service(self) -> bool:
        return self.paused or bool(self.faults)

    # ------------------------------------------------------------------ welcome
    def scan(self, kind: str, value: str = "", reason: str = "",
             context: BoothContext | None = None) -> None:
        """A QR was read (camera or keyboard wedge), already classified.

        ``context`` is the booth context a verified batch or region poster names.
        On the operator panel only such a poster counts: it sets the booth's context
        (and asks the ports to keep it for the next start); anything else scanned
        there is ignored, so a student's code cannot start a session over the panel.
        """
        self.touch()
        if self.state == "operator":
            if kind in ("batch", "region") and context is not None:
                self.set_context(context)
            return
        if self.state != "welcome":
            return
        if kind in ("batch", "region"):
            self._say("err_booth_qr")
            return
        if kind == "rejected":
            self._say("err_not_a_code")
            return
        if kind != "collection_code":
            self._say("err_not_a_code")
            return
        if self.context is None:
            self._say("err_no_context")
            return
        try:
            code = inputs.collection_code(value)
        except inputs.InputError as exc:
            self._say(exc.code)
            return
        self.notice = None
        self.data.code = code
        self.counters.roll()
        self.counters.sessions += 1
        log.info("session started for %s", code_ref(code))
        self._t_identify()

    # ------------------------------------------------------------------ identify
    @property
    def feature_required(self) -> bool:
        return bool(self.context and self.context.centralized and self.context.feature_required)

    def select_field(self, name: str) -> None:
        self.touch()
        if self.state == "identify" and name in ("last4", "feature"):
            if name == "feature" and not self.feature_required:
                return
            self.data.field = name
            self._changed()

    def key(self, ch: str) -> None:
        """One key of the on-screen keypad (or a hardware keyboard)."""
        self.touch()
        if self.state != "identify" or self.busy or self.locked_out:
            return
        ch = ch.upper()
        d = self.data
        if d.field == "last4":
            if len(d.last4) < 4 and (ch.isdigit() or (ch == "X" and len(d.last4) == 3)):
                d.last4 += ch
                if len(d.last4) == 4 and self.feature_required and not d.feature:
                    d.field = "feature"
        elif len(d.feature) < 4 and ch.isascii() and ch.isalnum():
            d.feature += ch
        self.notice = None
        self._changed()

    def backspace(self) -> None:
        self.touch()
        if self.state != "identify" or self.busy:
            return
        d = self.data
        if d.field == "feature":
            if d.feature:
                d.feature = d.feature[:-1]
            else:
                d.field = "last4"
        else:
            d.last4 = d.last4[:-1]
        self._changed()

    @property
    def locked_out(self) -> bool:
        return self.clock() < self.data.locked_until

    def submit_identity(self) -> None:
        self.touch()
        if self.state != "identify" or self.busy:
            return
        if self.locked_out:
            self._say_locked(self.data.locked_until - self.clock())
            return
        d = self.data
        try:
            last4 = inputs.id_last4(d.last4)
            feature = inputs.feature_code(d.feature) if self.feature_required else ""
        except inputs.InputError as exc:
            d.field = "feature" if exc.code.startswith("err_feature") else "last4"
            self._say(exc.code)
            return
        assert self.context is not None
        self.busy = True
        self.notice = None
        self._changed()
        self.ports.identify(self.ticket, d.code, last4, feature, self.context)

    def _say_locked(self, seconds: float) -> None:
        minutes = max(1, int((seconds + 59) // 60))
        self._say("err_locked", minutes=minutes)

    def on_identified(self, ticket: int, student: Student, order: Order | None) -> None:
        if not self._fresh(ticket):
            return
        self.data.student = student
        self.data.order = order
        self.data.wrong_entries = 0
        self._t_identified()

    def on_identify_failed(self, ticket: int, exc: Any) -> None:
        if not self._fresh(ticket):
            return
        d = self.data
        code = getattr(exc, "code", "")
        if code in ("wrong_digits", "locked_out"):
            d.last4 = ""
            d.feature = ""
            d.field = "last4"
        if code == "wrong_digits":
            d.wrong_entries += 1
            left = _extra(exc, "attempts_left")
            if left is None:
                left = max(0, self.config.wrong_entries - d.wrong_entries)
            if left <= 0:
                d.locked_until = self.clock() + 15 * 60
                self._say_locked(15 * 60)
            else:
                self._say("err_wrong_digits", attempts=left)
        elif code == "locked_out":
            retry = float(_extra(exc, "retry_after") or 15 * 60)
            d.locked_until = self.clock() + retry
            self._say_locked(retry)
        elif code in UNREACHABLE:
            self._say("err_offline_identify")
        elif code == "unknown_code":
            self._t_end()
            self._say("err_unknown_code")
        else:
            self._say_error(exc)

    # ------------------------------------------------------------------ confirm / status
    def confirm(self) -> None:
        self.touch()
        if self.state == "confirm":
            self._t_confirm()

    def back(self) -> None:
        """Leave: from any student screen back to welcome, forgetting the student."""
        self.touch()
        if self.state in ("processing", "submitting"):
            return  # the answer is on its way; the screen offers no back there
        self._t_end()

    finish = back

    def withdraw(self) -> None:
        self.touch()
        order = self.data.order
        if self.state != "status" or self.busy or not order or order.state != "pending_review":
            return
        self.busy = True
        self._changed()
        self.ports.withdraw(self.ticket, self.data.code)

    def on_withdrawn(self, ticket: int, order: Order | None) -> None:
        if not self._fresh(ticket):
            return
        self.data.order = order
        self._t_retake()

    def on_request_failed(self, ticket: int, exc: Any) -> None:
        """A center call other than identify/submit failed: say so, stay put."""
        if not self._fresh(ticket):
            return
        if getattr(exc, "code", "") in UNREACHABLE:
            self._say("err_email_offline" if self.state == "email" else "err_offline")
        else:
            self._say_error(exc)

    def retake(self) -> None:
        """Take a (new) photo: from status (rejected) or review, within the retake limit."""
        self.touch()
        if self.state == "status":
            order = self.data.order
            if order and order.state == "rejected":
                self._t_retake()
        elif self.state == "review":
            if self.retakes_left <= 0:
                self._say("err_no_retakes")
                return
            self.data.retakes += 1
            self.data.photo = b""
            self.data.report = None
            self.data.master = None
            self._t_retake()

    @property
    def retakes_left(self) -> int:
        return max(0, self.config.retakes - self.data.retakes)

    def request_download(self) -> None:
        self.touch()
        order = self.data.order
        if self.state != "status" or self.busy or not order or order.state != "completed":
            return
        self.busy = True
        self._changed()
        self.ports.download_link(self.ticket, self.data.code)

    def on_download_link(self, ticket: int, url: str) -> None:
        if not self._fresh(ticket):
            return
        self.data.download_url = url
        self._changed()

    # ------------------------------------------------------------------ e-mail form
    def open_email(self) -> None:
        """Completed order: the form (name + address) on its own screen with a keyboard."""
        self.touch()
        order = self.data.order
        if self.state == "status" and not self.busy and order and order.state == "completed":
            self.notice = None
            self._t_email()

    def close_email(self) -> None:
        """Back to the order's status (download, reprint); what was typed is kept."""
        self.touch()
        if self.state in ("email", "email_sent") and not self.busy:
            self.notice = None
            self._t_status()

    def select_email_field(self, name: str) -> None:
        self.touch()
        if self.state == "email" and name in ("name", "address"):
            self.data.email_field = name
            self._changed()

    def email_key(self, text: str) -> None:
        """A key (or a shortcut such as ``@qq.com``) of the on-screen keyboard."""
        self.touch()
        if self.state != "email" or self.busy:
            return
        d = self.data
        if d.email_field == "name":
            d.email_name = inputs.name_key(d.email_name, text)
        else:
            d.email_address = inputs.address_key(d.email_address, text)
        self.notice = None
        self._changed()

    def email_backspace(self) -> None:
        self.touch()
        if self.state != "email" or self.busy:
            return
        d = self.data
        if d.email_field == "name":
            d.email_name = d.email_name[:-1]
        else:
            d.email_address = d.email_address[:-1]
        self._changed()

    def send_email(self, name: str | None = None, address: str | None = None) -> None:
        """Check the form, then ask the center to mail the photo (answer: ``on_email_sent``)."""
        self.touch()
        order = self.data.order
        if self.state != "email" or self.busy or not order or order.state != "completed":
            return
        d = self.data
        if name is not None:
            d.email_name = name
        if address is not None:
            d.email_address = address
        try:
            name = inputs.email_name(d.email_name)
        except inputs.InputError as exc:
            d.email_field = "name"
            self._say(exc.code)
            return
        try:
            address = inputs.email_address(d.email_address)
        except inputs.InputError as exc:
            d.email_field = "address"
            self._say(exc.code)
            return
        d.email_name, d.email_address = name, address
        self.busy = True
        self.notice = None
        self._changed()
        self.ports.send_email(self.ticket, d.code, name, address)

    def on_email_sent(self, ticket: int) -> None:
        """The center accepted the request (it mails the photo itself, retrying if needed)."""
        if not self._fresh(ticket):
            return
        self.data.email_sent = True
        self.notice = None
        self._t_email_sent()

    def open_reprint(self) -> None:
        self.touch()
        order = self.data.order
        if self.state == "status" and order and order.state == "completed":
            self._t_reprint()

    # ------------------------------------------------------------------ capture / review
    def shutter(self) -> None:
        """Take the still: the countdown ended, or the operator pressed the shutter."""
        self.touch()
        if self.state != "capture" or self.busy:
            return
        self.busy = True
        self._changed()
        self.ports.capture(self.ticket)

    def on_captured(self, ticket: int, jpeg: bytes) -> None:
        if not self._fresh(ticket):
            return
        self.counters.roll()
        self.counters.photos += 1
        self.busy = True
        self._t_captured()
        self.ports.process(self.ticket, jpeg)

    def on_capture_failed(self, ticket: int, exc: Any) -> None:
        if not self._fresh(ticket):
            return
        self._say_error(exc)

    def on_processed(self, ticket: int, result: Any) -> None:
        if not self._fresh(ticket):
            return
        d = self.data
        d.photo = result.jpeg
        d.report = result.report
        d.master = getattr(result, "master", None)
        d.photo_ok = bool(result.report.ok)
        d.idempotency_key = uuid.uuid4().hex
        self._t_processed()

    def on_process_failed(self, ticket: int, exc: Any) -> None:
        """No compliant photo could be made: show why (review) or ask to pose again."""
        if not self._fresh(ticket):
            return
        report = getattr(exc, "report", None)
        if report is not None:
            d = self.data
            d.photo, d.report, d.master, d.photo_ok = b"", report, None, False
            self._t_processed()
            self._say_error(exc)
        else:
            self._t_process_failed()
            self._say_error(exc)

    def submit(self) -> None:
        self.touch()
        d = self.data
        if self.state != "review" or self.busy or not d.photo_ok or not d.photo:
            return
        self.busy = True
        self._t_submit()
        self.ports.submit(self.ticket, d.code, d.photo, d.idempotency_key)

    def on_submitted(self, ticket: int, order: Order | None, queued: bool) -> None:
        """The photo is in the outbox; ``order`` when the center already answered."""
        if not self._fresh(ticket):
            return
        d = self.data
        d.submitted_order = order
        d.queued = queued
        if order:
            d.order = order
        self.counters.roll()
        if queued:
            self.counters.queued += 1
        else:
            self.counters.submitted += 1
        # The photo now lives in the outbox only; the session lets go of it.
        d.photo = b""
        self._t_submitted()

    def on_submit_failed(self, ticket: int, exc: Any) -> None:
        if not self._fresh(ticket):
            return
        if getattr(exc, "code", "") == "order_locked":
            self._t_order_locked()
        else:
            self._t_submit_failed()
        self._say_error(exc)

    # ------------------------------------------------------------------ reprint
    def choose_layout(self, layout: int) -> None:
        self.touch()
        if self.state == "reprint" and layout in (1, 2):
            self.data.layout = layout
            self._changed()

    def set_copies(self, copies: int) -> None:
        self.touch()
        if self.state == "reprint":
            self.data.copies = max(1, min(self.config.max_copies, int(copies)))
            self._changed()

    def print_sheet(self) -> None:
        self.touch()
        d = self.data
        if self.state != "reprint" or self.busy:
            return
        self.busy = True
        d.print_state = "queued"
        self._t_print()
        self.ports.reprint(self.ticket, d.code, d.master, d.layout, d.copies)

    def on_print_progress(self, ticket: int, state: str, detail: str = "") -> None:
        """Printer news: queued/printing/attention/done/failed; ``detail`` an i18n key."""
        if ticket != self.ticket or self.state != "printing":
            return
        self.data.print_state = state
        self.data.print_detail = detail
        if state in ("done", "failed"):
            self.busy = False
            if state == "done":
                self.counters.roll()
                self.counters.prints += self.data.copies
        self.touch()
        self._changed()

    # ------------------------------------------------------------------ operator
    def open_operator(self) -> None:
        """The hidden gesture: the PIN pad (whatever was on screen is wiped)."""
        self._t_operator()

    @property
    def pin_locked(self) -> bool:
        return self.clock() < self.pin_locked_until

    def enter_pin(self, pin: str) -> bool:
        self.touch()
        if self.state != "operator_pin":
            return False
        if self.pin_locked:
            self._say("err_pin_locked")
            return False
        if check_pin(pin, self.config.pin_hash):
            self.pin_attempts = 0
            self.notice = None
            self._t_pin_ok()
            return True
        self.pin_attempts += 1
        if self.pin_attempts >= self.config.pin_max_attempts:
            self.pin_attempts = 0
            self.pin_locked_until = self.clock() + self.config.pin_lockout
            self._say("err_pin_locked")
        else:
            self._say("err_pin_wrong")
        return False

    def close_operator(self) -> None:
        self._t_leave_operator()

    def set_context(self, ctx: BoothContext) -> None:
        """The operator scanned a batch or region QR (already verified)."""
        if self.state != "operator":
            return
        self.context = ctx
        self.ports.keep_context(ctx)
        self._say("info_context_set", level="info", name=ctx.name or ctx.id)

    def pause_service(self) -> None:
        self.paused = True
        self._changed()

    def resume_service(self) -> None:
        self.paused = False
        if self.state == "out_of_service":
            self._t_back_in_service()
        self._changed()

    def set_language(self, lang: str) -> None:
        if lang in ("zh", "en"):
            self.touch()
            self.language = lang
            self._changed()

    def set_default_language(self, lang: str) -> None:
        """Operator: the language each session starts in."""
        if lang in ("zh", "en"):
            from dataclasses import replace

            self.config = replace(self.config, language=lang)
            self.set_language(lang)

    # ------------------------------------------------------------------ devices
    def device_state(self, device: str, state: str, notice: Notice | None = None) -> None:
        """A service reports a device's health; blocking failures stop the service."""
        if device not in BLOCKING_DEVICES:
            return
        if state == "failed":
            self.faults[device] = notice or Notice(f"oos_{device}")
            if self.state == "welcome":
                self._t_out_of_service()
        else:
            self.faults.pop(device, None)
            if self.state == "out_of_service":
                self._t_back_in_service()
        self._changed()

    @property
    def out_of_service_reason(self) -> Notice:
        if self.paused:
            return Notice("oos_paused")
        for device in BLOCKING_DEVICES:
            if device in self.faults:
                return self.faults[device]
        return Notice("oos_paused")
