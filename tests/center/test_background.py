"""Work done off the request path: the full compliance check and e-mail sending."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from center import schema as t
from center.admin import add_reviewer
from center.review import complete, decide
from tests.center.conftest import STUDENT, Running, base_overrides, upload
from tests.center.smtp import SmtpServer, free_port


def _wait(predicate, timeout: float = 30.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_full_check_report_attached_to_version(tmp_path, db_url, photo):
    pytest.importorskip("kiosk.photo.check")
    run = Running(tmp_path / "c", db_url, base_overrides(upload={"check_workers": 1})).start()
    try:
        t0 = time.perf_counter()
        assert upload(run.client(), STUDENT["code"], photo, "k-check-1").status_code == 201
        answered = time.perf_counter() - t0

        def state():  # noqa: ANN202
            with run.server.db.read() as conn:
                row = conn.execute(select(t.photo_versions)).one()
            return row if row.check_state not in ("queued", "running") else None

        row = _wait(state, 60)
        assert row is not None and row.check_state == "done", row and row.check_report
        report = json.loads(row.check_report)
        assert {"name", "verdict", "zh"} <= set(report["items"][0])
        assert row.check_ok == all(i["verdict"] != "fail" for i in report["items"])
        assert answered < 2.0  # the upload did not wait for the check
    finally:
        run.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_email_retried_until_the_smtp_server_is_back(tmp_path, db_url, photo):
    port = free_port()
    run = Running(
        tmp_path / "c", db_url, base_overrides(smtp={"port": port, "retry_seconds": 0.2})
    ).start()
    try:
        c = run.client()
        upload(c, STUDENT["code"], photo, "k-mail-1")
        add_reviewer(run.server.db, "rev", "password-1")
        with run.server.db.read() as conn:
            vid = conn.execute(select(t.photo_versions.c.id)).scalar_one()
            order_no = conn.execute(select(t.orders.c.order_no)).scalar_one()
        decide(run.server.db, vid, (1, "rev"), "approve")
        complete(run.server.db, [order_no], "test")
        t0 = time.perf_counter()
        r = c.post(
            "/api/v1/email",
            json={"collection_code": STUDENT["code"], "name": "Wu", "email": "wu@example.org"},
        )
        assert r.status_code == 202 and time.perf_counter() - t0 < 1.0

        def mail():  # noqa: ANN202
            with run.server.db.read() as conn:
                return conn.execute(select(t.email_requests)).one()

        failed_once = _wait(lambda: mail().attempts >= 1 and mail().last_error, 10)
        assert failed_once and mail().state == "queued"  # recorded, to be retried
        with SmtpServer() as smtp:
            # the SMTP server comes up on the configured port
            smtp.controller.stop()
            from aiosmtpd.controller import Controller

            smtp.controller = Controller(smtp.inbox, hostname="127.0.0.1", port=port)
            smtp.controller.start()
            assert smtp.inbox.arrived.wait(20)
            assert _wait(lambda: mail().state == "sent", 5)
            assert mail().last_error is None
    finally:
        run.stop()
