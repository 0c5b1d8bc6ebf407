"""The booth's printer worker keys each print by its reprint order number, so the print
journal recognises an order sent again after a restart and never prints it twice.
Real private cupsd with the virtual printer (hardware.printing.private_cups)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kiosk.services.post import direct
from kiosk.services.printer import PrinterWorker

QUEUE = "kiosk-photo"


class PdfBytes:
    """A rendered sheet's stand-in: only ``pdf()`` is used by the worker."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def pdf(self) -> bytes:
        return self.data


@pytest.fixture()
def cups(tmp_path: Path):
    pytest.importorskip("cups")
    from hardware.printing.private_cups import PrivateCups

    try:
        server = PrivateCups(tmp_path / "cups").start()
    except Exception as exc:  # no cupsd on this machine
        pytest.skip(f"private cupsd unavailable: {exc}")
    server.add_printer(QUEUE)
    yield server
    server.stop()


def print_once(journal: Path, cups, render) -> list[str]:
    """One kiosk run: a fresh worker and PrintService on the same journal, one print."""
    from hardware.printing import PrintService

    states: list[str] = []
    done = threading.Event()

    def progress(state: str, _detail: str) -> None:
        states.append(state)
        if state in ("done", "failed"):
            done.set()

    worker = PrinterWorker(lambda: PrintService(QUEUE, journal, server=cups.server,
                                                poll_interval=0.1), direct, poll=0.05).start()
    try:
        worker.print_sheet(render, 1, progress)
        assert done.wait(60), states
    finally:
        worker.stop()
    return states


def test_same_reprint_order_after_restart_prints_once(tmp_path: Path, cups) -> None:
    journal = tmp_path / "print-journal.json"
    order = "260101120000123456"
    first = print_once(journal, cups, lambda: (PdfBytes(b"%PDF-1.4 sheet, first render"), order))
    assert first[-1] == "done" and len(cups.jobs_printed(QUEUE)) == 1
    # The kiosk restarted and the same order comes again (re-rendered: other bytes).
    again = print_once(journal, cups, lambda: (PdfBytes(b"%PDF-1.4 sheet, second render"), order))
    assert again[-1] == "done" and len(cups.jobs_printed(QUEUE)) == 1
    # Another order prints.
    other = print_once(journal, cups,
                       lambda: (PdfBytes(b"%PDF-1.4 sheet, other order"), "260101120000654321"))
    assert other[-1] == "done" and len(cups.jobs_printed(QUEUE)) == 2
    keys = set(json.loads(journal.read_text())["jobs"])
    assert {order, "260101120000654321"} <= keys
