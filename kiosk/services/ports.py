"""The session's ``Ports`` made real: each request goes to the worker that owns it.

Answers come back on the UI thread (the workers ``post`` them) as the
session's ``on_*`` events, tagged with the ticket of the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.services.booth_context import keep_context
from kiosk.services.camera import CameraWorker
from kiosk.services.center import CenterService
from kiosk.services.pipeline import PipelineWorker
from kiosk.services.printer import PrinterWorker
from kiosk.session.model import BoothContext, Order, Student

log = logging.getLogger(__name__)


def student_from(answer: dict[str, Any]) -> Student:
    s = answer.get("student") or {}
    return Student(str(s.get("masked_name", "")), str(s.get("school", "")),
                   str(s.get("level", "")), str(s.get("major", "")))


class KioskPorts:
    def __init__(
        self,
        camera: CameraWorker,
        pipeline: PipelineWorker,
        center: CenterService,
        printer: PrinterWorker,
        render_sheet: Callable[[Any, int, str, int], Any],
        state_dir: Path | None = None,
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.center = center
        self.printer = printer
        self.render_sheet = render_sheet  # (master | None, layout, code, copies) -> Sheet
        self.state_dir = state_dir  # where the booth context is kept (None: not kept)
        self.session: Any = None

    def bind(self, session: Any) -> None:
        self.session = session

    # -- center ---------------------------------------------------------------
    def identify(self, ticket: int, code: str, last4: str, feature: str, ctx: BoothContext) -> None:
        s = self.session
        self.center.call(
            lambda c: c.identify(code, last4, feature or None, {"kind": ctx.kind, "id": ctx.id}),
            lambda a: s.on_identified(ticket, student_from(a), Order.from_dict(a.get("order"))),
            lambda e: s.on_identify_failed(ticket, e),
        )

    def withdraw(self, ticket: int, code: str) -> None:
        s = self.session
        self.center.call(lambda c: c.withdraw(code),
                         lambda a: s.on_withdrawn(ticket, Order.from_dict(a.get("order"))),
                         lambda e: s.on_request_failed(ticket, e))

    def download_link(self, ticket: int, code: str) -> None:
        s = self.session
        self.center.call(lambda c: c.download_link(code),
                         lambda a: s.on_download_link(ticket, str(a.get("url", ""))),
                         lambda e: s.on_request_failed(ticket, e))

    def send_email(self, ticket: int, code: str, name: str, address: str) -> None:
        s = self.session
        self.center.call(lambda c: c.email(code, name, address),
                         lambda _a: s.on_email_sent(ticket),
                         lambda e: s.on_request_failed(ticket, e))

    def submit(self, ticket: int, code: str, jpeg: bytes, idempotency_key: str) -> None:
        s = self.session
        self.center.submit(
            code, jpeg, idempotency_key,
            lambda order, queued: s.on_submitted(ticket, Order.from_dict(order), queued),
            lambda e: s.on_submit_failed(ticket, e),
        )

    # -- camera and pipeline ----------------------------------------------------
    def start_preview(self) -> None:
        self.camera.set_mode("guide")

    def stop_preview(self) -> None:
        self.camera.set_mode("off")

    def capture(self, ticket: int) -> None:
        s = self.session
        self.camera.capture(lambda jpeg: s.on_captured(ticket, jpeg),
                            lambda e: s.on_capture_failed(ticket, e))

    def process(self, ticket: int, jpeg: bytes) -> None:
        s = self.session
        self.pipeline.process(jpeg, lambda r: s.on_processed(ticket, r),
                              lambda e: s.on_process_failed(ticket, e))

    # -- printer -------------------------------------------------------------------
    def reprint(self, ticket: int, code: str, master: Any, layout: int, copies: int) -> None:
        s = self.session
        self.printer.print_sheet(
            lambda: self.render_sheet(master, layout, code, copies), copies,
            lambda state, detail: s.on_print_progress(ticket, state, detail),
        )

    def forget(self) -> None:
        """The session was wiped (end, idle timeout, operator): nothing of the student stays."""
        self.camera.forget_last_qr()
        self.center.end_grants()

    def keep_context(self, ctx: BoothContext) -> None:
        """The operator set the booth's batch or region: keep it for the next start."""
        if self.state_dir is not None:
            keep_context(self.state_dir, ctx)
