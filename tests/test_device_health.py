"""Device health in one shape: what the screen reports, what the heartbeat carries."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hardware.health import Health
from kiosk.services.device_report import REPORT_FILE, DeviceReport, read_report


def _wait_for(path: Path, text: str = "") -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            data = json.loads(path.read_text())
            if text in json.dumps(data):
                return data
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"{path} not written")


def test_health_round_trips_and_refuses_nonsense() -> None:
    printer = Health("failed", "queue kiosk-photo: out_of_paper", "缺纸", "out of paper", 0)
    assert Health.from_dict(printer.as_dict()) == printer
    assert Health.from_dict("ok").state == "ok"
    assert Health.from_dict({"state": "exploded"}).state == "unknown"
    for paper in (-3, float("nan"), float("inf"), True, "12"):
        assert Health.from_dict({"state": "ok", "paper_left": paper}).paper_left is None
    assert len(Health.from_dict({"state": "ok", "detail": "x" * 10_000}).detail) == 200
    assert Health.from_dict(["not", "a", "table"]).state == "unknown"


def test_the_screen_reports_its_devices_on_change_and_the_worker_reads_them(tmp_path) -> None:
    now = [1000.0]
    report = DeviceReport(tmp_path, clock=lambda: now[0])
    health = {"camera": Health("ok", "simulated"), "printer": Health("ok"),
              "disk": Health("ok", "900 MB free")}
    assert report.publish(health)
    data = _wait_for(tmp_path / REPORT_FILE)
    assert set(data["devices"]) == {"camera", "disk"}  # the worker asks CUPS itself
    assert not report.publish({**health, "disk": Health("ok", "899 MB free")})  # same states
    assert report.publish({**health, "camera": Health("failed", "unplugged")})
    _wait_for(tmp_path / REPORT_FILE, "unplugged")
    seen = read_report(tmp_path, now=now[0] + 5)
    assert seen["camera"].state == "failed" and seen["disk"].state == "ok"
    # The screen stopped reporting: the camera's state is not known any more.
    stale = read_report(tmp_path, now=now[0] + 600)
    assert stale == {"camera": stale["camera"]} and stale["camera"].state == "unknown"
    assert read_report(tmp_path / "nowhere")["camera"].state == "unknown"
