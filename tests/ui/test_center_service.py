"""The booth's center service against the real embedded center on loopback: a photo
submitted while the center is down is kept in the outbox and goes up as soon as any
call reaches the center again, without waiting for the next idle poll."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from kiosk.services.center import CenterService
from kiosk.services.post import direct
from tests.conftest import center_conf

CODE = "DEMO2026GD000005"  # 王芳 in the demo roster


def upload_sized_jpeg() -> bytes:
    """A 480×640 portrait JPEG in the center's size window (its quick checks only)."""
    from PIL import Image

    from kiosk.paths import PORTRAITS_DIR

    src = sorted(PORTRAITS_DIR.glob("*.jpg"))[0]
    img = Image.open(src).convert("RGB").resize((480, 640))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def test_queued_photo_goes_up_as_soon_as_the_center_answers_again(tmp_path: Path) -> None:
    from kiosk.link.client import CenterClient
    from kiosk.link.embedded import EmbeddedCenter
    from kiosk.link.grants import GrantBook
    from kiosk.link.outbox import Outbox

    center = EmbeddedCenter(tmp_path, center_conf(),
                            overrides={"upload": {"check_workers": 0}}).start()
    outbox = Outbox(tmp_path / "outbox" / "outbox.db")
    base, token = center.base_url, center.token
    book = GrantBook()  # as the booth does: one book of grants for all its clients
    service = CenterService(lambda: CenterClient(base, token, timeout=(1.0, 5.0), grants=book),
                            outbox, direct, drain_interval=120.0, grants=book).start()
    try:
        answers: list[tuple] = []
        got = threading.Event()

        def done(order: object, queued: bool) -> None:
            answers.append((order, queued))
            got.set()

        service.call(lambda c: c.identify(CODE, "3456", "EK43", {"kind": "batch", "id": "GD2026-01"}),
                     lambda a: got.set(), lambda e: got.set())
        assert got.wait(15)
        got.clear()
        center.stop()
        service.submit(CODE, upload_sized_jpeg(), "test-offline-0001", done, lambda e: None)
        assert got.wait(15) and answers == [(None, True)] and outbox.depth() == 1
        assert service.network().state == "failed"
        center.start()
        ok = threading.Event()
        service.call(lambda c: c.status(CODE), lambda a: ok.set(), lambda e: None)
        assert ok.wait(15)
        deadline = time.monotonic() + 15  # far below the 120 s idle poll
        while outbox.depth() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert outbox.depth() == 0
        status = CenterClient(base, token, grants=book).status(CODE)
        assert status["order"]["state"] == "pending_review"
    finally:
        service.stop()
        outbox.close()
        center.stop()
