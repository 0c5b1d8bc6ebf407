"""The session state machine on its own: no Kivy, no devices, a hand-driven clock."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.errors import KioskError
from kiosk.session import BoothContext, Notice, Order, RecordingPorts, Session, Student
from kiosk.session.config import SessionConfig
from kiosk.session.pin import check_pin, hash_pin

CODE = "GD26A7Q2K9M4"
BATCH = BoothContext("batch", "GD2026-01", "广东 2026 第一批", feature_required=True)
REGION = BoothContext("region", "R-GZ-01", "广州")
STUDENT = Student("吴**", "广州大学", "本科", "计算机")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Refused(KioskError):
    def __init__(self, code: str, **extra: object) -> None:
        super().__init__(code, "中文说明。", "English words.")
        self.__dict__.update(extra)


@dataclass
class Report:
    ok: bool
    items: list = field(default_factory=list)


@dataclass
class Result:
    jpeg: bytes
    report: Report
    master: object = "master"


def order(state: str, **kw: object) -> Order:
    return Order("221212192359897028", state, **kw)


def make(ctx: BoothContext | None = BATCH, **cfg: object) -> tuple[Session, RecordingPorts, Clock]:
    ports = RecordingPorts()
    clock = Clock()
    config = SessionConfig(context=ctx, pin_hash=hash_pin("2468", iterations=1000), **cfg)
    return Session(ports, config, clock=clock), ports, clock


def type_keys(s: Session, keys: str) -> None:
    for ch in keys:
        s.key(ch)


def to_confirm(s: Session, ports: RecordingPorts, o: Order | None = None) -> None:
    s.scan("collection_code", CODE)
    type_keys(s, "123X")
    if s.feature_required:
        type_keys(s, "ek43")
    s.submit_identity()
    s.on_identified(s.ticket, STUDENT, o or order("awaiting_photo"))


def to_review(s: Session, ports: RecordingPorts, ok: bool = True) -> None:
    to_confirm(s, ports)
    s.confirm()
    s.shutter()
    s.on_captured(s.ticket, b"still")
    s.on_processed(s.ticket, Result(b"photo", Report(ok)))


def test_centralized_session_reaches_order_number() -> None:
    s, ports, _ = make()
    s.scan("collection_code", CODE)
    assert s.state == "identify"
    type_keys(s, "123X")
    assert s.data.field == "feature"  # the keypad moves on by itself
    type_keys(s, "ek43")
    s.submit_identity()
    assert ports.last("identify")[1:] == (CODE, "123X", "EK43", BATCH)
    s.on_identified(s.ticket, STUDENT, order("awaiting_photo"))
    assert s.state == "confirm" and s.data.student.masked_name == "吴**"
    s.confirm()
    assert s.state == "capture" and "start_preview" in ports.names()
    s.shutter()
    s.shutter()  # a double tap takes one still
    assert ports.names().count("capture") == 1
    s.on_captured(s.ticket, b"still")
    assert s.state == "processing" and ports.last("process")[1] == b"still"
    assert "stop_preview" in ports.names()
    s.on_processed(s.ticket, Result(b"photo", Report(True)))
    assert s.state == "review"
    s.submit()
    _, code, jpeg, key = ports.last("submit")
    assert (code, jpeg) == (CODE, b"photo") and len(key) == 32
    s.on_submitted(s.ticket, order("pending_review"), queued=False)
    assert s.state == "submitted" and s.data.submitted_order.order_no.startswith("2212")
    assert s.data.photo == b""  # the outbox holds it now, not the session
    s.finish()
    assert s.state == "welcome" and s.data.code == "" and s.data.student is None
    assert s.counters.submitted == 1 and s.counters.sessions == 1


def test_scattered_session_asks_no_feature_code() -> None:
    s, ports, _ = make(REGION)
    s.scan("collection_code", CODE)
    type_keys(s, "1234ABCD")
    assert s.data.last4 == "1234" and s.data.feature == ""
    s.submit_identity()
    assert ports.last("identify")[3] == ""


def test_center_unreachable_on_submit_says_saved() -> None:
    s, ports, _ = make()
    to_review(s, ports)
    s.submit()
    s.on_submitted(s.ticket, None, queued=True)
    assert s.state == "submitted" and s.data.queued and s.counters.queued == 1


@pytest.mark.parametrize(("typed", "key"), [
    ("12", "err_last4_length"), ("", "err_last4_length"),
])
def test_short_id_entry_is_refused_locally(typed: str, key: str) -> None:
    s, ports, _ = make(REGION)
    s.scan("collection_code", CODE)
    type_keys(s, typed)
    s.submit_identity()
    assert s.notice.key == key and "identify" not in ports.names()


def test_x_only_allowed_as_last_character() -> None:
    s, _, _ = make(REGION)
    s.scan("collection_code", CODE)
    type_keys(s, "X12X3")
    assert s.data.last4 == "123"  # X only as the 4th character
    s.key("X")
    assert s.data.last4 == "123X"


def test_feature_code_must_have_four_characters() -> None:
    s, ports, _ = make()
    s.scan("collection_code", CODE)
    type_keys(s, "1234EK4")
    s.submit_identity()
    assert s.notice.key == "err_feature_length" and s.data.field == "feature"
    s.backspace()
    s.backspace()
    s.backspace()
    s.backspace()
    assert s.data.field == "last4"  # backspace over an empty field steps back


def test_wrong_digits_then_lockout() -> None:
    s, ports, clock = make(REGION)
    s.scan("collection_code", CODE)
    type_keys(s, "1111")
    s.submit_identity()
    s.on_identify_failed(s.ticket, Refused("wrong_digits", attempts_left=2))
    assert s.notice.key == "err_wrong_digits" and s.notice.params == {"attempts": 2}
    assert s.data.last4 == "" and s.state == "identify"
    type_keys(s, "2222")
    s.submit_identity()
    s.on_identify_failed(s.ticket, Refused("locked_out", retry_after=600))
    assert s.notice.key == "err_locked" and s.notice.params == {"minutes": 10}
    type_keys(s, "3333")
    assert s.data.last4 == ""  # keypad is dead while locked
    clock.now += 601
    type_keys(s, "3333")
    assert s.data.last4 == "3333"


def test_unknown_code_returns_to_welcome_with_message() -> None:
    s, _, _ = make(REGION)
    s.scan("collection_code", CODE)
    type_keys(s, "1234")
    s.submit_identity()
    s.on_identify_failed(s.ticket, Refused("unknown_code"))
    assert s.state == "welcome" and s.notice.key == "err_unknown_code"


def test_scan_needs_a_booth_context_and_a_valid_code() -> None:
    s, _, _ = make(None)
    s.scan("collection_code", CODE)
    assert s.state == "welcome" and s.notice.key == "err_no_context"
    s, _, _ = make()
    s.scan("collection_code", "bad code!")
    assert s.state == "welcome" and s.notice.key == "err_code_invalid"
    s.scan("batch", "KSK1.x.y")
    assert s.notice.key == "err_booth_qr"


def test_back_from_confirm_forgets_student() -> None:
    s, ports, _ = make()
    to_confirm(s, ports)
    s.back()
    assert s.state == "welcome" and s.data.code == "" and ports.names()[-1] == "forget"


@pytest.mark.parametrize("state", ["pending_review", "rejected", "processing", "completed"])
def test_returning_student_sees_status(state: str) -> None:
    s, ports, _ = make()
    to_confirm(s, ports, order(state, reason_text="头发遮挡眉毛"))
    s.confirm()
    assert s.state == "status"


def test_pending_withdraw_then_retake() -> None:
    s, ports, _ = make()
    to_confirm(s, ports, order("pending_review", can_withdraw=True))
    s.confirm()
    s.withdraw()
    assert ports.last("withdraw")[1] == CODE
    s.on_withdrawn(s.ticket, order("awaiting_photo"))
    assert s.state == "capture"


def test_rejected_retake_and_processing_locked() -> None:
    s, ports, _ = make()
    to_confirm(s, ports, order("rejected", reason_text="背景不均匀"))
    s.confirm()
    s.retake()
    assert s.state == "capture"
    s, ports, _ = make()
    to_confirm(s, ports, order("processing"))
    s.confirm()
    s.retake()
    s.withdraw()
    s.open_reprint()
    assert s.state == "status" and ports.names().count("withdraw") == 0


def test_completed_download_email_reprint() -> None:
    s, ports, _ = make()
    to_confirm(s, ports, order("completed", can_reprint=True))
    s.confirm()
    s.request_download()
    s.on_download_link(s.ticket, "http://127.0.0.1/d/tok")
    assert s.data.download_url.endswith("/d/tok")
    s.open_email()
    assert s.state == "email"
    s.send_email("Wu Xiaoming", "wu@example.edu.cn")
    s.on_email_sent(s.ticket)
    assert s.data.email_sent and s.state == "email_sent"
    s.close_email()
    assert s.state == "status"
    s.open_reprint()
    assert s.state == "reprint"
    s.choose_layout(2)
    s.set_copies(99)
    assert s.data.copies == 3
    s.print_sheet()
    assert s.state == "printing" and ports.last("reprint")[3:] == (2, 3)
    s.on_print_progress(s.ticket, "attention", "printer_media_empty")
    assert s.data.print_state == "attention"
    s.on_print_progress(s.ticket, "done")
    assert s.counters.prints == 3 and not s.busy


def test_retake_limit() -> None:
    s, ports, _ = make(retakes=1)
    to_review(s, ports)
    s.retake()
    assert s.state == "capture"
    s.shutter()
    s.on_captured(s.ticket, b"still2")
    s.on_processed(s.ticket, Result(b"photo2", Report(True)))
    s.retake()
    assert s.state == "review" and s.notice.key == "err_no_retakes"


def test_noncompliant_photo_cannot_be_submitted() -> None:
    s, ports, _ = make()
    to_confirm(s, ports)
    s.confirm()
    s.shutter()
    s.on_captured(s.ticket, b"still")
    refused = Refused("photo_refused", report=Report(False))
    s.on_process_failed(s.ticket, refused)
    assert s.state == "review" and not s.data.photo_ok
    s.submit()
    assert "submit" not in ports.names()


def test_idle_timeout_wipes_and_drops_late_answers() -> None:
    s, ports, clock = make(idle={"default": 60.0, "capture": 120.0})
    to_confirm(s, ports)
    s.confirm()
    s.shutter()
    old_ticket = s.ticket
    clock.now += 119
    assert not s.tick()
    clock.now += 2
    assert s.tick()
    assert s.state == "welcome" and s.data.code == "" and s.counters.timeouts == 1
    assert "stop_preview" in ports.names()
    s.on_captured(old_ticket, b"late still")  # the camera answers after the wipe
    assert s.state == "welcome" and "process" not in ports.names()


def test_touch_keeps_session_alive() -> None:
    s, ports, clock = make()
    to_confirm(s, ports)
    for _ in range(5):
        clock.now += 50
        s.touch()
        assert not s.tick()
    assert s.state == "confirm"


def test_operator_pin_pause_and_device_faults() -> None:
    s, ports, clock = make()
    to_confirm(s, ports)
    s.open_operator()
    assert s.state == "operator_pin" and s.data.code == ""  # the student is wiped
    assert not s.enter_pin("0000")
    assert s.notice.key == "err_pin_wrong"
    assert s.enter_pin("2468") and s.state == "operator"
    s.set_context(REGION)
    assert s.context == REGION
    s.pause_service()
    s.close_operator()
    assert s.state == "out_of_service" and s.out_of_service_reason.key == "oos_paused"
    s.resume_service()
    assert s.state == "welcome"
    s.device_state("camera", "failed")
    assert s.state == "out_of_service" and s.out_of_service_reason.key == "oos_camera"
    s.device_state("printer", "failed")  # printing is not needed for photos
    s.device_state("camera", "ok")
    assert s.state == "welcome"


def to_operator(s: Session) -> None:
    s.open_operator()
    assert s.enter_pin("2468") and s.state == "operator"


def test_operator_scan_of_a_poster_sets_and_keeps_the_booth_context() -> None:
    s, ports, _ = make(BATCH)
    to_operator(s)
    s.scan("region", REGION.id, context=REGION)
    assert s.state == "operator" and s.context == REGION
    assert ports.last("keep_context") == (REGION,)
    assert s.notice.key == "info_context_set" and s.notice.params["name"] == REGION.name


@pytest.mark.parametrize("kind,value,context", [
    ("collection_code", CODE, None),  # a student's code over the panel starts nothing
    ("batch", "GD2026-02", None),  # a poster that could not be verified
    ("rejected", "", None),
])
def test_operator_scan_of_anything_else_changes_nothing(kind: str, value: str,
                                                        context: BoothContext | None) -> None:
    s, ports, _ = make(BATCH)
    to_operator(s)
    s.scan(kind, value, context=context)
    assert s.state == "operator" and s.context == BATCH and s.data.code == ""
    assert "keep_context" not in ports.names() and "identify" not in ports.names()


def test_a_poster_scanned_by_a_student_is_refused() -> None:
    s, ports, _ = make(BATCH)
    s.scan("region", REGION.id, context=REGION)
    assert s.state == "welcome" and s.context == BATCH
    assert s.notice.key == "err_booth_qr" and "keep_context" not in ports.names()


def test_pin_lockout() -> None:
    s, _, clock = make(pin_max_attempts=2, pin_lockout=60.0)
    s.open_operator()
    s.enter_pin("1")
    s.enter_pin("2")
    assert s.notice.key == "err_pin_locked"
    assert not s.enter_pin("2468")
    clock.now += 61
    assert s.enter_pin("2468")


def test_pin_hash_round_trip_and_default() -> None:
    from kiosk.settings import load_settings

    assert check_pin("2468", load_settings().get("operator.pin_hash"))
    assert not check_pin("2469", load_settings().get("operator.pin_hash"))
    assert not check_pin("2468", "garbage")


def test_config_from_settings() -> None:
    from kiosk.settings import load_settings

    cfg = SessionConfig.from_settings(load_settings())
    assert cfg.idle_for("capture") == 120.0 and cfg.idle_for("identify") == 60.0
    assert cfg.idle_for("welcome") is None and cfg.retakes == 3


def test_language_resets_for_next_student() -> None:
    s, ports, _ = make()
    s.set_language("en")
    to_confirm(s, ports)
    assert s.language == "en"
    s.back()
    assert s.language == "zh"


def test_session_imports_neither_kivy_nor_hardware() -> None:
    root = Path(__file__).resolve().parents[2] / "kiosk" / "session"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("kivy", "hardware")), (path, name)


def to_email_form(s: Session, ports: RecordingPorts) -> None:
    to_confirm(s, ports, order("completed", can_reprint=True))
    s.confirm()
    s.open_email()
    assert s.state == "email" and s.data.email_field == "name"


def test_email_form_typed_on_the_keyboard_is_sent_once() -> None:
    s, ports, _ = make()
    to_email_form(s, ports)
    for key in "wu  xiao-ming":
        s.email_key(key)
    assert s.data.email_name == "Wu Xiao-Ming"  # pinyin, capitalised like a name
    s.email_key("吴")  # a key the Latin keyboard does not have (hardware keyboard)
    assert s.data.email_name == "Wu Xiao-Ming"
    s.select_email_field("address")
    for key in ["w", "x", "m", "@qq.com", "@"]:
        s.email_key(key)
    assert s.data.email_address == "wxm@qq.com"  # a second @ is dropped
    s.email_backspace()
    s.email_key("m")
    s.send_email()
    assert s.busy and ports.last("send_email")[1:] == (CODE, "Wu Xiao-Ming", "wxm@qq.com")
    s.send_email()  # a second tap while the first is on its way
    assert ports.names().count("send_email") == 1
    s.on_email_sent(s.ticket)
    assert s.state == "email_sent" and not s.busy
    s.finish()
    assert s.state == "welcome" and s.data.email_address == "" and s.data.email_name == ""


@pytest.mark.parametrize(("name", "address", "key", "field"), [
    ("", "wu@qq.com", "err_email_name_empty", "name"),
    ("W", "wu@qq.com", "err_email_name", "name"),
    ("吴小明", "wu@qq.com", "err_email_name", "name"),
    ("Wu Xiaoming", "", "err_email_address_empty", "address"),
    ("Wu Xiaoming", "wu.qq.com", "err_email_no_at", "address"),
    ("Wu Xiaoming", "@qq.com", "err_email_local", "address"),
    ("Wu Xiaoming", "wu..x@qq.com", "err_email_local", "address"),
    ("Wu Xiaoming", "wu@qq", "err_email_domain", "address"),
    ("Wu Xiaoming", "wu@qq.c", "err_email_domain", "address"),
    ("Wu Xiaoming", "wu@-qq.com", "err_email_domain", "address"),
    ("Wu Xiaoming", "w" * 250 + "@qq.com", "err_email_too_long", "address"),
])
def test_email_form_errors_name_the_field(name: str, address: str, key: str, field: str) -> None:
    from kiosk.app.i18n import tr

    s, ports, _ = make()
    to_email_form(s, ports)
    s.send_email(name, address)
    assert s.notice.key == key and s.data.email_field == field
    assert "send_email" not in ports.names() and s.state == "email" and not s.busy
    assert tr(key, "zh") != key and tr(key, "en") != key  # words exist in both languages


def test_email_center_unreachable_keeps_the_form() -> None:
    s, ports, _ = make()
    to_email_form(s, ports)
    s.send_email("Lin Mei", "Lin.Mei@Example.EDU.cn")
    assert ports.last("send_email")[3] == "Lin.Mei@example.edu.cn"
    s.on_request_failed(s.ticket, Refused("center_unreachable"))
    assert s.state == "email" and s.notice.key == "err_email_offline" and not s.busy
    assert s.data.email_address == "Lin.Mei@example.edu.cn"
    s.on_request_failed(s.ticket, Refused("validation_error"))
    assert s.notice.zh == "中文说明。"
    s.close_email()
    assert s.state == "status"


def test_email_only_for_completed_orders() -> None:
    s, ports, _ = make()
    to_confirm(s, ports, order("pending_review", can_withdraw=True))
    s.confirm()
    s.open_email()
    assert s.state == "status"


def test_tell_shows_and_clears_a_notice_on_the_current_screen() -> None:
    s, _, _ = make()
    seen: list[object] = []
    s.listeners.append(lambda session: seen.append(session.notice))
    s.tell(Notice("info_test_print", level="info"))
    s.tell(None)
    assert [getattr(n, "key", None) for n in seen] == ["info_test_print", None]
    assert s.state == "welcome"
