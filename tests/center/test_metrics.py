"""Prometheus /metrics of the center and of the kiosk worker, and the alert rules.

The center's figures are read back from a real scrape (HTTP on loopback) after
real uploads and heartbeats; the worker's from a real ``kiosk worker`` process;
the alert rules by ``promtool test rules`` (Debian's prometheus package).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.center.conftest import STUDENT, Running, base_overrides, upload

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789abcdef"


def scrape(url: str, token: str | None = TOKEN) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def metered(tmp_path: Path, db_url: str):
    # the checker is on but waits for a quiet hour, so queued checks stay queued
    over = base_overrides(
        metrics={"token": TOKEN},
        upload={"check_workers": 1, "check_quiet_seconds": 3600.0,
                "check_max_defer_seconds": 3600.0},
    )
    run = Running(tmp_path / "center", db_url, over).start()
    yield run
    run.stop()


def test_center_metrics_count_uploads_backlog_and_heartbeats(metered, photo, photo2):
    run = metered
    c = run.client()
    assert upload(c, STUDENT["code"], photo, "k-metrics-1").status_code == 201
    assert upload(c, "DEMO2026GD000002", photo2, "k-metrics-2").status_code == 201
    beat = {
        "health": {
            "printer": {"state": "attention", "detail": "out of paper", "paper_left": 0},
            "camera": "ok",
            "outbox": {"state": "ok", "depth": 3, "oldest_age_s": 4000.0},
        },
        "counters": {"uploaded": 2},
        "outbox_depth": 3,
        "version": "1.0",
    }
    assert c.post("/api/v1/heartbeat", json=beat).status_code == 200
    time.sleep(1.1)
    m = scrape(run.url)
    k = (("kiosk", "test-kiosk"),)
    assert m[("kiosk_center_uploads_total", k)] == 2
    assert m[("kiosk_center_review_backlog", ())] == 2
    assert m[("kiosk_center_review_backlog_oldest_age_seconds", ())] >= 1.0
    assert m[("kiosk_center_check_queue_depth", ())] == 2
    assert m[("kiosk_center_check_queue_oldest_age_seconds", ())] >= 1.0
    assert m[("kiosk_center_orders", (("state", "pending_review"),))] == 2
    assert 1.0 <= m[("kiosk_center_kiosk_heartbeat_age_seconds", k)] < 60
    assert m[("kiosk_center_kiosk_outbox_depth", k)] == 3
    assert m[("kiosk_center_kiosk_outbox_oldest_age_seconds", k)] == 4000.0
    assert m[("kiosk_center_kiosk_paper_left", k)] == 0
    printer = (("device", "printer"), ("kiosk", "test-kiosk"))
    assert m[("kiosk_center_kiosk_device_state", (*printer, ("state", "attention")))] == 1
    assert m[("kiosk_center_kiosk_device_state", (*printer, ("state", "ok")))] == 0
    camera = (("device", "camera"), ("kiosk", "test-kiosk"), ("state", "ok"))
    assert m[("kiosk_center_kiosk_device_state", camera)] == 1


def test_metrics_need_the_token_and_leak_no_personal_data(metered, photo):
    run = metered
    assert upload(run.client(), STUDENT["code"], photo, "k-metrics-3").status_code == 201
    assert httpx.get(f"{run.url}/metrics").status_code == 401
    wrong = {"Authorization": "Bearer metrics-token-0123456789abcdeX"}
    assert httpx.get(f"{run.url}/metrics", headers=wrong).status_code == 401
    body = httpx.get(f"{run.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert STUDENT["code"] not in body and "吴" not in body
    order_no = run.client().post(
        "/api/v1/orders/status", json={"collection_code": STUDENT["code"]}
    ).json()["order"]["order_no"]
    assert order_no not in body
    # not part of the API document
    assert "/metrics" not in httpx.get(f"{run.url}/openapi.json").text


def test_metrics_off_without_a_token(sqlite_center):
    assert httpx.get(f"{sqlite_center.url}/metrics").status_code == 404


def test_hostile_heartbeat_cannot_flood_the_labels(metered):
    health = {f"dev{i}": "ok" for i in range(200)}
    health.update({"Bad Name": "ok", "x" * 100: "ok", "camera": "on fire"})
    r = metered.client().post("/api/v1/heartbeat", json={"health": health})
    assert r.status_code == 200
    m = scrape(metered.url)
    devices = {dict(lbl)["device"] for (name, lbl) in m if name == "kiosk_center_kiosk_device_state"}
    assert len(devices) <= 16 and "Bad Name" not in devices
    states = {dict(lbl)["state"] for (name, lbl) in m if name == "kiosk_center_kiosk_device_state"}
    assert states <= {"ok", "degraded", "attention", "failed", "unknown"}


def test_kiosk_worker_serves_metrics_and_its_heartbeat_carries_the_outbox(
    tmp_path: Path, photo
):
    """A real ``kiosk worker`` with the center down: its /metrics shows the waiting
    photo; once the center is up, the heartbeat brings the outbox to the center."""
    from tests.center.s3 import free_port
    from tests.link.conftest import kiosk_cmd, kiosk_config, token_file

    port = free_port()
    run = Running(
        tmp_path / "center", f"sqlite+pysqlite:///{tmp_path / 'c.db'}",
        base_overrides(metrics={"token": TOKEN}),
    ).start()
    center_url, center_port = run.url, run.server.port
    tok = token_file(tmp_path / "token", run.token)
    run.stop()  # the center is down when the booth queues the photo
    state = tmp_path / "booth"
    from kiosk.link.outbox import Outbox

    box = Outbox(state / "outbox" / "outbox.db")
    box.enqueue(STUDENT["code"], photo, "k-worker-metrics-1", {})
    box.close()
    cfg = kiosk_config(tmp_path / "kiosk.toml", center_url, tok, backoff_base_s=30.0,
                       backoff_max_s=30.0)
    with cfg.open("a") as fh:
        fh.write(f'metrics_port = {port}\nmetrics_token = "{TOKEN}"\n')
    proc = kiosk_cmd(["worker"], cfg, state)
    try:
        deadline = time.monotonic() + 30
        m = None
        while time.monotonic() < deadline:
            try:
                m = scrape(f"http://127.0.0.1:{port}")
                break
            except (httpx.HTTPError, AssertionError):
                time.sleep(0.2)
        assert m is not None, proc.stderr.read() if proc.poll() is not None else "no metrics"
        assert m[("kiosk_worker_outbox_depth", ())] == 1
        assert m[("kiosk_worker_outbox_oldest_age_seconds", ())] > 0
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401
        assert STUDENT["code"] not in httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        ).text
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0
    # The center comes back on its port; a heartbeat tells it about the outbox.
    run.start(port=center_port)
    try:
        from kiosk.link.client import CenterClient
        from kiosk.link.worker import UploadWorker

        box = Outbox(state / "outbox" / "outbox.db")
        worker = UploadWorker(box, lambda: CenterClient(run.url, run.token))
        assert worker.send_heartbeat()
        m = scrape(run.url)
        k = (("kiosk", "test-kiosk"),)
        assert m[("kiosk_center_kiosk_outbox_depth", k)] == 1
        assert m[("kiosk_center_kiosk_outbox_oldest_age_seconds", k)] > 0
        box.close()
    finally:
        run.stop()


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt: prometheus)")
def test_alert_rules_pass_promtool():
    rules = ROOT / "config" / "prometheus"
    check = subprocess.run([PROMTOOL, "check", "rules", str(rules / "alerts.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "7 rules found" in check.stdout
    test = subprocess.run([PROMTOOL, "test", "rules", str(rules / "alerts_test.yml")],
                          capture_output=True, text=True, timeout=60)
    assert test.returncode == 0, test.stdout + test.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt: prometheus)")
def test_promtool_catches_a_wrong_expectation(tmp_path: Path):
    """The rules test can fail: a silent kiosk expected at 9 minutes is refused."""
    rules = ROOT / "config" / "prometheus"
    shutil.copy(rules / "alerts.yml", tmp_path / "alerts.yml")
    text = (rules / "alerts_test.yml").read_text()
    bad = text.replace("      - eval_time: 9m\n        alertname: KioskSilent\n        exp_alerts: []",
                       "      - eval_time: 9m\n        alertname: KioskSilent\n        exp_alerts:\n"
                       "          - exp_labels: {severity: warning, kiosk: booth-a}")
    assert bad != text
    (tmp_path / "alerts_test.yml").write_text(bad)
    res = subprocess.run([PROMTOOL, "test", "rules", str(tmp_path / "alerts_test.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0


def test_worker_heartbeat_brings_the_printer_state_to_the_center(tmp_path: Path):
    """A real ``kiosk worker`` beside a private cupsd whose queue is stopped: the
    center's /metrics shows that kiosk's printer failed (someone must act), the
    worker's own /metrics too; once the queue is enabled again both say ok. The
    camera's state, which only the screen's process sees, reaches the center through
    the screen's device report (kiosk.services.device_report)."""
    cups_mod = pytest.importorskip("cups")
    from hardware.printing.private_cups import CUPSD, PrivateCups
    from tests.center.s3 import free_port
    from tests.link.conftest import kiosk_cmd, token_file

    if CUPSD is None:
        pytest.skip("cupsd not installed")
    port = free_port()
    run = Running(
        tmp_path / "center", f"sqlite+pysqlite:///{tmp_path / 'c.db'}",
        base_overrides(metrics={"token": TOKEN}),
    ).start()
    cups_server = PrivateCups(tmp_path / "cups").start()
    proc = None
    try:
        cups_server.add_printer("kiosk-photo")
        conn = cups_mod.Connection(host=cups_server.server)
        conn.disablePrinter("kiosk-photo")  # a stopped queue: out of paper, jam...
        tok = token_file(tmp_path / "token", run.token)
        cfg = tmp_path / "kiosk.toml"
        cfg.write_text(
            f'[center]\nurl = "{run.url}"\ntoken_file = "{tok}"\nheartbeat_interval_s = 0.5\n'
            f'[printer]\nqueue = "kiosk-photo"\nserver = "{cups_server.server}"\n'
            f"[outbox]\nmetrics_port = {port}\n",
            encoding="utf-8",
        )
        from hardware.health import Health
        from kiosk.services.device_report import DeviceReport

        # The screen's last report: its camera degraded (e.g. the DSLR fell back).
        report = DeviceReport(tmp_path / "booth")
        assert report.publish({"camera": Health("degraded", "preview only")})
        deadline = time.monotonic() + 10
        while not report.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc = kiosk_cmd(["worker"], cfg, tmp_path / "booth")
        printer = (("device", "printer"), ("kiosk", "test-kiosk"))
        camera = (("device", "camera"), ("kiosk", "test-kiosk"))

        def center_state(device: tuple = printer) -> str | None:
            m = scrape(run.url)
            for state in ("ok", "degraded", "attention", "failed", "unknown"):
                if m.get(("kiosk_center_kiosk_device_state", (*device, ("state", state)))) == 1:
                    return state
            return None

        deadline = time.monotonic() + 40
        while center_state() != "failed" and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.3)
        assert center_state() == "failed"
        assert center_state(camera) == "degraded"
        worker_m = scrape(f"http://127.0.0.1:{port}", token=None)
        assert worker_m[("kiosk_worker_device_state", (("device", "printer"), ("state", "failed")))] == 1

        conn.enablePrinter("kiosk-photo")
        deadline = time.monotonic() + 40  # the worker asks CUPS again after 15 s
        while center_state() != "ok" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert center_state() == "ok"
    finally:
        if proc:
            proc.terminate()
            proc.wait(20)
        cups_server.stop()
        run.stop()
