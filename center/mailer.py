"""Photo e-mails: requests are rows in the database, one sender thread sends them.

The API call only inserts the request (202) and wakes the sender, so a slow or
unreachable SMTP server never holds up a kiosk. Failures are retried with a
doubling delay and end as ``failed`` with the SMTP error recorded; the console
shows each request's state, and a reviewer can send a failed one back to the queue.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from sqlalchemy import select, update

from center import orders
from center import schema as t
from center.db import Database
from center.storage import PhotoStore
from center.words import said, said_zh
from kiosk.errors import KioskError

log = logging.getLogger("center.mailer")

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
# Seconds a sender holds a claimed request (next_attempt_at while SENDING): hosts
# share the queue, and a host that dies mid-send leaves it to another after this.
SEND_LEASE = 300.0


class Mailer:
    def __init__(self, db: Database, store: PhotoStore, smtp: dict[str, Any]) -> None:
        self.db = db
        self.store = store
        self.smtp = smtp
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.db.is_sqlite:  # the only sender of this database died mid-send
            with self.db.write() as conn:
                conn.execute(
                    update(t.email_requests)
                    .where(t.email_requests.c.state == SENDING)
                    .values(state=QUEUED, next_attempt_at=time.time())
                )
        # PostgreSQL: other hosts may be sending right now; a send claimed by a host
        # that died is due again once its lease (next_attempt_at) has passed
        self._thread = threading.Thread(target=self._loop, name="center-mailer", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def retry(self, request_id: int, actor: str) -> str:
        """A failed request back to the queue, due now; returns its order number.

        Attempts restart at 0 so the request gets the full round of retries
        again (a reviewer retries after fixing the cause, e.g. the SMTP
        password); the last error stays visible until a send succeeds.
        """
        with self.db.write() as conn:
            row = conn.execute(
                select(t.email_requests.c.state, t.orders.c.order_no)
                .join(t.orders, t.orders.c.id == t.email_requests.c.order_id)
                .where(t.email_requests.c.id == request_id)
            ).first()
            if row is None:
                raise KioskError(
                    "email_retry_refused",
                    *said("email_no_request"),
                    str(request_id),
                )
            moved = conn.execute(
                update(t.email_requests)
                .where(t.email_requests.c.id == request_id, t.email_requests.c.state == FAILED)
                .values(state=QUEUED, attempts=0, next_attempt_at=time.time())
            ).rowcount
            if not moved:
                raise KioskError(
                    "email_retry_refused",
                    *said("email_retry_refused", state=row.state),
                    str(request_id),
                )
            orders.audit(conn, actor, "email_retry", row.order_no, f"request {request_id}")
        self.poke()
        return str(row.order_no)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            while not self._stop.is_set() and self._send_one():
                pass
            self._wake.wait(timeout=self._next_due())
            self._wake.clear()

    def _next_due(self) -> float:
        with self.db.read() as conn:
            due = conn.execute(
                select(t.email_requests.c.next_attempt_at)
                .where(t.email_requests.c.state == QUEUED)
                .order_by(t.email_requests.c.next_attempt_at)
                .limit(1)
            ).scalar()
        if due is None:
            return 30.0
        return min(30.0, max(0.05, float(due) - time.time()))

    def _send_one(self) -> bool:
        """Send the oldest due request; False when none is due."""
        now = time.time()
        with self.db.read() as conn:
            row = conn.execute(
                select(t.email_requests)
                .where(
                    t.email_requests.c.state.in_([QUEUED, SENDING]),
                    t.email_requests.c.next_attempt_at <= now,
                )
                .order_by(t.email_requests.c.id)
                .limit(1)
            ).first()
        if row is None:
            return False
        with self.db.write() as conn:
            claimed = conn.execute(
                update(t.email_requests)
                .where(
                    t.email_requests.c.id == row.id,
                    t.email_requests.c.state == row.state,
                    t.email_requests.c.next_attempt_at == row.next_attempt_at,
                )
                .values(
                    state=SENDING, attempts=row.attempts + 1, next_attempt_at=now + SEND_LEASE
                )
            ).rowcount
            order = conn.execute(
                select(t.orders.c.order_no, t.photo_versions.c.sha256)
                .join(t.photo_versions, t.photo_versions.c.order_id == t.orders.c.id)
                .where(
                    t.orders.c.id == row.order_id,
                    t.photo_versions.c.version_no == t.orders.c.version,
                )
            ).first()
        if not claimed:
            return True
        assert order is not None, "an e-mail request's order has its photo (schema)"
        try:
            self._deliver(row, order.order_no, self.store.get(order.sha256))
        except (OSError, smtplib.SMTPException, KioskError) as exc:
            attempts = row.attempts + 1
            final = attempts >= int(self.smtp.get("max_attempts", 5))
            delay = float(self.smtp.get("retry_seconds", 30)) * 2 ** (attempts - 1)
            log.warning(
                "e-mail request %s failed (attempt %s): %s", row.id, attempts, type(exc).__name__
            )
            with self.db.write() as conn:
                conn.execute(
                    update(t.email_requests)
                    .where(t.email_requests.c.id == row.id)
                    .values(
                        state=FAILED if final else QUEUED,
                        next_attempt_at=time.time() + delay,
                        last_error=f"{type(exc).__name__}: {exc}"[:500],
                    )
                )
            return True
        with self.db.write() as conn:
            conn.execute(
                update(t.email_requests)
                .where(t.email_requests.c.id == row.id)
                .values(state=SENT, sent_at=time.time(), last_error=None)
            )
        log.info("e-mail request %s sent for order %s", row.id, order.order_no)
        return True

    def _deliver(self, row: Any, order_no: str, photo: bytes) -> None:
        msg = EmailMessage()
        msg["From"] = self.smtp.get("from_addr", "photos@localhost")
        msg["To"] = formataddr((row.name, row.email))
        msg["Subject"] = self.smtp.get("subject", "Your diploma photo")
        msg.set_content(said_zh("email_body", name=row.name, order_no=order_no))
        msg.add_attachment(
            photo, maintype="image", subtype="jpeg", filename=f"{order_no}.jpg"
        )
        timeout = float(self.smtp.get("timeout", 20))
        with smtplib.SMTP(self.smtp["host"], int(self.smtp["port"]), timeout=timeout) as smtp:
            if self.smtp.get("starttls"):
                smtp.starttls()
            if self.smtp.get("username"):
                smtp.login(self.smtp["username"], self.smtp.get("password", ""))
            smtp.send_message(msg)
