"""Issue 10 §1, the booth's side: the kiosk works with grants.

A photo submitted while the center was down goes up hours later with the
upload ticket its outbox kept -- even after the session ended and the outbox
database was rebuilt from its sidecars; the end of a session ends the grant
at the center.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from kiosk.link.client import CenterClient, CenterRefused
from kiosk.link.embedded import EmbeddedCenter
from kiosk.link.grants import HEADER, GrantBook
from kiosk.link.outbox import Outbox, OutboxPolicy
from kiosk.services.center import CenterService
from kiosk.services.post import direct
from tests.conftest import center_conf
from tests.link.conftest import make_jpeg

CODE, LAST4 = "DEMO2026GD000002", "5678"
BATCH = {"kind": "batch", "id": "GD2026-01"}
FAST = OutboxPolicy(backoff_base_s=0.05, backoff_max_s=0.4, jitter=0.0, lease_s=30.0)


@pytest.fixture
def center(tmp_path: Path):
    c = EmbeddedCenter(tmp_path / "center-host", center_conf(),
                       overrides={"upload": {"check_workers": 0}})
    c.start()
    yield c
    c.stop()


def test_queued_photo_goes_up_after_the_session_and_an_outbox_rebuild(center, tmp_path):
    client = CenterClient(center.base_url, center.token, timeout=(1.0, 5.0))
    client.identify(CODE, LAST4, "EK43", BATCH)
    ticket = client.grants.upload_ticket(CODE)
    assert ticket
    center.stop()  # the center is down when the student submits
    box_path = tmp_path / "outbox" / "outbox.db"
    box = Outbox(box_path, FAST)
    item = box.enqueue(CODE, make_jpeg(7), "late-ticket-0001", upload_ticket=ticket)
    sidecar = next((tmp_path / "outbox" / "photos").glob("*.json"))
    assert json.loads(sidecar.read_text())["upload_ticket"] == ticket
    client.end_grants()  # the session ends (center unreachable: forgotten here anyway)
    assert len(client.grants) == 0
    box.close()
    # the outbox database is lost; the sidecars rebuild it, ticket included
    for suffix in ("", "-wal", "-shm"):
        Path(str(box_path) + suffix).unlink(missing_ok=True)
    rebuilt = Outbox(box_path, FAST)
    assert rebuilt.depth() == 1
    center.start()
    with CenterClient(center.base_url, center.token) as later:  # a new process, no grants
        result = rebuilt.drain_once(later)
        assert result.uploaded == 1, rebuilt.status()["last_error"]
        answer = next(iter(result.answers.values()))
        assert answer["order"]["label"] == "待审核"
        # the ticket uploads only: it cannot read the order
        with pytest.raises(CenterRefused) as refused:
            later._call("POST", "/api/v1/orders/status", json={"collection_code": CODE},
                        headers={HEADER: ticket})
        assert refused.value.code == "grant_required"
    assert item
    rebuilt.close()


def test_session_end_ends_the_grant_at_the_center(center, tmp_path):
    book = GrantBook()
    service = CenterService(
        lambda: CenterClient(center.base_url, center.token, timeout=(1.0, 5.0), grants=book),
        Outbox(tmp_path / "outbox" / "outbox.db", FAST), direct, drain_interval=120.0,
        grants=book,
    ).start()
    try:
        done = threading.Event()
        service.call(lambda c: c.identify(CODE, LAST4, "EK43", BATCH), lambda a: done.set(),
                     lambda e: done.set())
        assert done.wait(15)
        grant = book.grant(CODE)
        assert grant
        status = {"json": {"collection_code": CODE},
                  "headers": {"Authorization": f"Bearer {center.token}", HEADER: grant}}
        url = center.base_url + "/api/v1/orders/status"
        assert requests.post(url, timeout=5, **status).status_code == 200
        service.end_grants()  # what KioskPorts.forget() does at the session's end / idle wipe
        deadline = time.monotonic() + 10
        while requests.post(url, timeout=5, **status).status_code == 200:
            assert time.monotonic() < deadline, "grant still valid after the session ended"
            time.sleep(0.05)
        assert requests.post(url, timeout=5, **status).status_code == 403
        assert len(book) == 0
    finally:
        service.stop()
