"""Printing through a real private cupsd with the kiosktest virtual printer."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from hardware.printing import PrintError, PrintService, interpret
from hardware.printing.private_cups import PrivateCups

_names = itertools.count(1)


@pytest.fixture(scope="module")
def cupsd(tmp_path_factory: pytest.TempPathFactory):
    with PrivateCups(tmp_path_factory.mktemp("cups")) as server:
        yield server


@pytest.fixture()
def printer(cupsd: PrivateCups) -> str:
    name = f"photo{next(_names)}"
    cupsd.add_printer(name)
    return name


@pytest.fixture()
def sheet(tmp_path: Path) -> Path:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(b"%PDF-1.4\n% a sheet\n" + bytes(range(256)) * 8)
    return path


def _service(cupsd: PrivateCups, printer: str, tmp_path: Path, **kw) -> PrintService:
    kw.setdefault("poll_interval", 0.05)
    return PrintService(printer, tmp_path / "journal.json", server=cupsd.server,
                        media="na_index-4x6_4x6in", **kw)


def _job_meta(cupsd: PrivateCups, printer: str, job_id: int) -> dict:
    return json.loads((cupsd.output_dir(printer) / f"job-{job_id}.json").read_text())


def test_prints_with_exact_size_options(cupsd, printer, sheet, tmp_path) -> None:
    svc = _service(cupsd, printer, tmp_path)
    assert svc.state().code == "ready"
    result = svc.print_file(sheet, copies=2, key="R0001", timeout=20)
    assert result.state == "completed"
    printed = cupsd.jobs_printed(printer)
    assert [p.read_bytes() for p in printed] == [sheet.read_bytes()]
    meta = _job_meta(cupsd, printer, result.job_id)
    assert meta["copies"] == 2 and meta["title"] == "kiosk:R0001"
    for opt in ("print-scaling=none", "nofit-to-page", "media=na_index-4x6_4x6in"):
        assert opt in meta["options"]
    assert svc.journal.get("R0001")["state"] == "completed"


def test_out_of_paper_pauses_then_refill_and_resume_completes(cupsd, printer, sheet, tmp_path):
    svc = _service(cupsd, printer, tmp_path)
    cupsd.set_fault(printer, "paper")
    job = svc.submit(sheet, key="R0002")
    with pytest.raises(PrintError) as info:
        svc.wait(job, timeout=20)
    err = info.value
    assert err.code == "out_of_paper" and err.pending
    assert "加纸" in err.zh and "paper" in err.en
    state = svc.state()
    assert state.state == "stopped" and not state.ok
    assert "media-empty-error" in state.reasons and "paused" in state.reasons
    assert svc.health().state == "failed"
    assert cupsd.jobs_printed(printer) == []
    cupsd.set_fault(printer, "")  # the operator refills the tray ...
    assert svc.resume().state != "stopped"  # ... and confirms on the operator panel
    assert svc.wait(job, timeout=20).state == "completed"
    assert len(cupsd.jobs_printed(printer)) == 1


def test_offline_printer_is_reported(cupsd, printer, sheet, tmp_path) -> None:
    svc = _service(cupsd, printer, tmp_path)
    cupsd.set_fault(printer, "offline")
    with pytest.raises(PrintError) as info:
        svc.print_file(sheet, key="R0003", timeout=20)
    assert info.value.code == "offline" and "未连接" in info.value.zh
    cupsd.set_fault(printer, "")
    svc.resume()
    assert svc.wait(info.value.job_id, timeout=20).state == "completed"


def test_aborted_job_is_a_failure_with_the_printers_words(cupsd, printer, sheet, tmp_path):
    svc = _service(cupsd, printer, tmp_path)
    cupsd.set_fault(printer, "abort")
    with pytest.raises(PrintError) as info:
        svc.print_file(sheet, key="R0004", timeout=20)
    assert info.value.code == "job_aborted" and not info.value.pending
    assert "firmware error" in info.value.detail
    assert svc.journal.get("R0004")["state"] == "failed"
    cupsd.set_fault(printer, "")
    # A failed print may be tried again under the same key: it prints once more.
    assert svc.print_file(sheet, key="R0004", timeout=20).state == "completed"
    assert len(cupsd.jobs_printed(printer)) == 1


def test_restart_neither_loses_nor_doubles_a_print(cupsd, printer, sheet, tmp_path) -> None:
    first = _service(cupsd, printer, tmp_path)
    cupsd.set_fault(printer, "paper")
    job = first.submit(sheet, key="R0005")
    with pytest.raises(PrintError):
        first.wait(job, timeout=20)
    del first  # the kiosk restarts while the queue is paused
    second = _service(cupsd, printer, tmp_path)
    assert list(second.pending()) == ["R0005"]
    assert second.submit(sheet, key="R0005") == job  # the order is submitted again
    cupsd.set_fault(printer, "")
    second.resume()
    assert second.wait(job, timeout=20).state == "completed"
    third = _service(cupsd, printer, tmp_path)
    assert third.submit(sheet, key="R0005") == job  # and once more after completion
    time.sleep(0.3)
    assert len(cupsd.jobs_printed(printer)) == 1


def test_crash_between_submit_and_journal_finds_the_job(cupsd, printer, sheet, tmp_path) -> None:
    import cups

    svc = _service(cupsd, printer, tmp_path)
    svc.journal.update("R0006", state="submitting", job_id=None)
    job = cups.Connection(host=cupsd.server).printFile(printer, str(sheet), "kiosk:R0006", {})
    assert svc.submit(sheet, key="R0006") == job  # adopted, not printed again
    svc.wait(job, timeout=20)
    svc.journal.update("R0007", state="submitting", job_id=None)  # crashed before printFile
    other = svc.submit(sheet, key="R0007")
    assert other != job
    svc.wait(other, timeout=20)
    assert len(cupsd.jobs_printed(printer)) == 2


def test_stalled_job_is_cancelled(cupsd, printer, sheet, tmp_path) -> None:
    svc = _service(cupsd, printer, tmp_path, stall_timeout=1.0)
    cupsd.set_fault(printer, "stall")
    t0 = time.monotonic()
    with pytest.raises(PrintError) as info:
        svc.print_file(sheet, key="R0008", timeout=20)
    assert info.value.code == "job_stalled" and time.monotonic() - t0 < 8
    import cups

    attrs = cups.Connection(host=cupsd.server).getJobAttributes(info.value.job_id)
    assert attrs["job-state"] == 7  # canceled
    assert svc.journal.get("R0008")["state"] == "cancelled"
    cupsd.set_fault(printer, "")


def test_one_job_at_a_time(cupsd, printer, sheet, tmp_path) -> None:
    svc = _service(cupsd, printer, tmp_path, busy_timeout=0.5)
    cupsd.set_fault(printer, "paper")
    job = svc.submit(sheet, key="R0009")
    time.sleep(0.3)
    with pytest.raises(PrintError) as info:
        svc.submit(sheet, key="R0010")
    assert info.value.code == "printer_busy"
    cupsd.set_fault(printer, "")
    svc.resume()
    svc.wait(job, timeout=20)
    assert svc.print_file(sheet, key="R0010", timeout=20).state == "completed"


def test_missing_queue_and_low_supply(cupsd, printer, sheet, tmp_path) -> None:
    missing = _service(cupsd, "no-such-queue", tmp_path)
    assert missing.state().code == "missing" and not missing.state().ok
    svc = _service(cupsd, printer, tmp_path)
    cupsd.set_fault(printer, "low")
    assert svc.print_file(sheet, key="R0011", timeout=20).state == "completed"
    state = svc.state()
    assert state.code == "supply_low" and state.ok and svc.health().state == "degraded"


def test_paper_left_when_the_printer_counts_its_sheets(cupsd, printer, sheet, tmp_path) -> None:
    """A printer that counts the prints of its media kit: the count after each job is
    the health's ``paper_left`` (what the operator panel and the heartbeat carry)."""
    svc = _service(cupsd, printer, tmp_path)
    assert svc.print_file(sheet, key="R0013", timeout=20).state == "completed"
    assert svc.health().paper_left is None  # no count reported: nothing is made up
    cupsd.load_paper(printer, 40)
    assert svc.print_file(sheet, key="R0014", timeout=20).state == "completed"
    deadline = time.monotonic() + 10
    while svc.state().paper_left is None and time.monotonic() < deadline:
        time.sleep(0.1)
    health = svc.health()
    assert health.paper_left == 39 and health.state == "ok"
    assert health.as_dict()["paper_left"] == 39


def test_percent_supply_levels_are_not_sheets() -> None:
    attrs = {"printer-state": 3, "printer-state-reasons": ["none"],
             "marker-levels": [55, 80], "marker-high-levels": [100, 100]}
    assert interpret(attrs).paper_left is None
    counted = {**attrs, "marker-levels": [55, 12], "marker-high-levels": [100, 350]}
    assert interpret(counted).paper_left == 12


@pytest.mark.parametrize(
    ("reasons", "state", "code"),
    [
        (["media-jam-error", "media-empty-error"], 5, "paper_jam"),
        (["marker-supply-empty-error"], 5, "out_of_ribbon"),
        (["marker-supply-low-warning"], 3, "supply_low"),
        (["paused"], 5, "paused"),
        (["connecting-to-device-report"], 4, "printing"),
        (["none"], 3, "ready"),
    ],
)
def test_state_reasons_become_operator_states(reasons, state, code) -> None:
    s = interpret({"printer-state": state, "printer-state-reasons": reasons,
                   "printer-is-accepting-jobs": True})
    assert s.code == code and s.zh and s.en


def test_stall_is_noticed_across_many_short_waits(cupsd, printer, sheet, tmp_path) -> None:
    svc = _service(cupsd, printer, tmp_path, stall_timeout=1.0)
    cupsd.set_fault(printer, "stall")
    job = svc.submit(sheet, key="R0012")
    codes = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        try:
            svc.wait(job, timeout=0.2)  # the kiosk's printer thread follows in short steps
        except PrintError as exc:
            codes.append(exc.code)
            if exc.code == "job_stalled":
                break
    assert codes[-1] == "job_stalled" and "job_timeout" in codes
    cupsd.set_fault(printer, "")
