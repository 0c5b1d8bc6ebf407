"""Two center hosts on one PostgreSQL and one S3 store, behind a proxy.

Each host is a real ``kiosk center serve`` process with its own working
directory (data and secrets directory, config file), as on two machines; the
second host got the first one's secrets directory copied, as the operator
does (docs/capacity.md). Whatever one host decides, the other knows at once.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from center import schema as t
from center.admin import add_kiosk, add_reviewer
from center.demo import seed
from tests.center.conftest import (
    GRANT,
    PG_URL,
    REVIEWER,
    STUDENT,
    STUDENT_X,
    KioskHttp,
    identify,
    reset_pg,
    upload,
)
from tests.center.hosts import Host, Side
from tests.center.proxy import Plan, Proxy
from tests.center.s3 import s3_conf
from tests.center.smtp import SmtpServer

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="KIOSK_TEST_PG_URL not set (scripts/test.d/postgres.sh starts PostgreSQL)"
)
STUDENT_3 = {"code": "DEMO2026GD000002", "last4": "5678"}
PER_MINUTE = 30  # identify calls per kiosk and minute, on all hosts together



class Pair:
    """Two hosts and the proxy; quacks like tests.center.conftest.Running for the
    API flow (``client``, ``url``, ``server.db``, ``token``)."""

    def __init__(self, root: Path, s3_url: str, **conf: Any) -> None:
        reset_pg(PG_URL)
        self.conf: dict[str, Any] = {
            "upload": {"check_workers": 0},
            "photo_store": s3_conf(s3_url),
            "identify": {"kiosk_max_per_minute": PER_MINUTE},
            **conf,
        }
        self.a = Host(root, "host-a", PG_URL, self.conf).start()  # migrates, makes secrets
        self.b = Host(root, "host-b", PG_URL, self.conf)
        self.b.copy_secrets_from(self.a)
        self.b.start()
        self.hosts = [self.a, self.b]
        self.proxy = Proxy([("127.0.0.1", h.port) for h in self.hosts]).start()
        self.server = Side(PG_URL)
        self.token = seed(self.server.db, "test-kiosk") or ""

    @property
    def url(self) -> str:
        return self.proxy.url

    def client(self, token: str | None = None, base: str | None = None) -> KioskHttp:
        """No keep-alive: every call is a new connection, so the proxy spreads them."""
        tok = self.token if token is None else token
        return KioskHttp(
            base_url=base or self.url,
            headers={"Authorization": f"Bearer {tok}"} if tok else {},
            timeout=15,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self.proxy.stop()
        for h in self.hosts:
            h.stop()
        self.server.db.dispose()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, s3_url: str, smtp: SmtpServer) -> Iterator[Pair]:
    p = Pair(tmp_path_factory.mktemp("hosts"), s3_url, smtp={"port": smtp.port, "retry_seconds": 1})
    yield p
    p.close()


def test_api_flow_on_two_hosts(pair: Pair, smtp: SmtpServer, photo: bytes, photo2: bytes) -> None:
    from tests.center.test_api_flow import _journey

    before = list(pair.proxy.served)
    _journey(pair, smtp, photo, photo2)  # type: ignore[arg-type]
    spread = [n - b for n, b in zip(pair.proxy.served, before, strict=True)]
    assert min(spread) >= 10, spread  # both hosts answered a good share of the calls
    # the photos are in the shared store, not in either host's data directory
    for host in pair.hosts:
        assert not list((host.dir / "data" / "photos").rglob("*.jpg"))


def _direct(pair: Pair, host: Host, token: str | None = None) -> KioskHttp:
    return pair.client(token, base=host.url)


def test_wrong_digits_on_both_hosts_add_up_to_one_lock_out(pair: Pair) -> None:
    left = []
    for i in range(4):
        host = pair.hosts[i % 2]
        r = identify(_direct(pair, host), STUDENT_3, id_last4="0000")
        assert r.status_code == 403, r.text
        left.append(r.json()["error"]["attempts_left"])
    assert left == [4, 3, 2, 1]  # one counter, whichever host answered
    assert identify(_direct(pair, pair.b), STUDENT_3, id_last4="0000").status_code == 423
    # locked on both hosts, the right digits included
    for host in pair.hosts:
        assert identify(_direct(pair, host), STUDENT_3).status_code == 423


def test_kiosk_rate_limit_counts_calls_on_both_hosts(pair: Pair) -> None:
    token = add_kiosk(pair.server.db, "rate-kiosk")
    codes = []
    for i in range(PER_MINUTE + 1):  # alternately on host A and host B
        r = identify(_direct(pair, pair.hosts[i % 2], token), STUDENT_X, id_last4="002X",
                     feature_code=None, context={"kind": "region", "id": "R-GZ-01"})
        codes.append(r.status_code)
    assert codes == [200] * PER_MINUTE + [429], codes


def test_token_rotated_through_host_a_is_refused_by_host_b_at_once(pair: Pair) -> None:
    token = add_kiosk(pair.server.db, "rotating-kiosk")
    for host in pair.hosts:
        assert _direct(pair, host, token).get("/api/v1/keys").status_code == 200
    out = pair.a.run_cli("kiosk", "rotate-token", "rotating-kiosk")
    new = out.strip().splitlines()[0]
    assert _direct(pair, pair.b, token).get("/api/v1/keys").status_code == 401
    assert _direct(pair, pair.b, new).get("/api/v1/keys").status_code == 200
    pair.b.run_cli("kiosk", "disable", "rotating-kiosk")
    assert _direct(pair, pair.a, new).get("/api/v1/keys").status_code == 401


def _plain(pair: Pair, host: Host) -> httpx.Client:
    """A client that sends only the grants the test gives it."""
    return httpx.Client(
        base_url=host.url, headers={"Authorization": f"Bearer {pair.token}"}, timeout=15
    )


def test_grant_issued_on_one_host_ended_on_the_other(pair: Pair) -> None:
    a, b = _plain(pair, pair.a), _plain(pair, pair.b)
    r = identify(a, STUDENT)
    assert r.status_code == 200
    grant = r.json()["grant"]["token"]
    body = {"collection_code": STUDENT["code"]}
    assert b.post("/api/v1/orders/status", json=body, headers={GRANT: grant}).status_code == 200
    assert b.post("/api/v1/grants/end", headers={GRANT: grant}).json() == {"ended": True}
    r = a.post("/api/v1/orders/status", json=body, headers={GRANT: grant})
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_required"


def test_upload_retried_on_the_other_host_is_a_replay(pair: Pair, photo: bytes) -> None:
    a, b = _plain(pair, pair.a), _plain(pair, pair.b)
    r = identify(a, STUDENT_X, id_last4="002X", feature_code=None,
                 context={"kind": "region", "id": "R-GZ-01"})
    ticket = r.json()["upload_ticket"]["token"]
    a.headers[GRANT] = b.headers[GRANT] = ticket
    first = upload(a, STUDENT_X["code"], photo, "k-two-hosts-1")
    again = upload(b, STUDENT_X["code"], photo, "k-two-hosts-1")
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert _versions(pair, STUDENT_X["code"]) == 1


def test_console_session_and_login_limits_hold_on_both_hosts(pair: Pair) -> None:
    add_reviewer(pair.server.db, *REVIEWER)
    one = httpx.Client(base_url=pair.a.url, timeout=15)
    r = one.post("/console/login", data={"name": REVIEWER[0], "password": REVIEWER[1]})
    assert r.status_code == 303
    cookie = one.cookies["center_session"]
    other = httpx.Client(base_url=pair.b.url, timeout=15, cookies={"center_session": cookie})
    page = other.get("/console/review")
    assert page.status_code == 200 and "csrf" in page.text  # signed in on host B too
    other.post("/console/logout")
    r = httpx.get(pair.a.url + "/console/review", cookies={"center_session": cookie})
    assert r.status_code in (302, 303) and "/console/login" in r.headers["location"]
    # wrong passwords on both hosts count against one limit (login_pair_failures = 5)
    statuses = []
    for i in range(6):
        host = pair.hosts[i % 2]
        statuses.append(
            httpx.post(host.url + "/console/login",
                       data={"name": REVIEWER[0], "password": "wrong"}).status_code
        )
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses


def test_both_hosts_sign_with_the_one_poster_key(pair: Pair) -> None:
    keys = [_direct(pair, h).get("/api/v1/keys").json()["context_public_keys"] for h in pair.hosts]
    assert keys[0] == keys[1] and len(keys[0]) == 1
    assert (pair.a.secrets_dir / "context_signing_key.ed25519").read_bytes() == (
        pair.b.secrets_dir / "context_signing_key.ed25519"
    ).read_bytes()


def test_host_with_other_secrets_refuses_to_start(pair: Pair, tmp_path: Path) -> None:
    stray = Host(tmp_path, "host-c", PG_URL, pair.conf)  # its own, freshly made secrets
    with pytest.raises(RuntimeError) as err:
        stray.start(timeout=60)
    assert re.search(r"missing|differs", str(err.value)) and "secrets" in str(err.value)
    assert stray.proc is not None and stray.proc.returncode == 3
    assert not (stray.secrets_dir / "download_link.key").exists()  # nothing made anew
    stray.copy_secrets_from(pair.a)  # copied, but one file differs
    stray.secrets_dir.joinpath("download_link.key").write_bytes(os.urandom(32))
    with pytest.raises(RuntimeError) as err:
        stray.start(timeout=60)
    assert "download_link.key" in str(err.value) and "differs" in str(err.value)
    stray.copy_secrets_from(pair.a)  # the whole directory, as docs/capacity.md says
    stray.start(timeout=60).stop()


def _versions(pair: Pair, code: str) -> int:
    with pair.server.db.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(t.photo_versions)
                .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
                .join(t.students, t.students.c.id == t.orders.c.student_id)
                .where(t.students.c.collection_code == code)
            ).scalar_one()
        )


# -- a host killed mid-upload ------------------------------------------------------
@pytest.fixture
def fresh_pair(tmp_path: Path, s3_url: str) -> Iterator[Pair]:
    p = Pair(tmp_path, s3_url)
    yield p
    p.close()


def _kiosk_upload_killing_host(pair: Pair, photo: bytes, plan: Plan, key: str) -> dict[str, Any]:
    """The booth's own client uploads; the host the proxy chose dies on the way.

    The first attempt fails (CenterUnreachable), the outbox retries the same
    idempotency key with the upload ticket, and the proxy sends the retry to
    the host still alive.
    """
    from kiosk.link.client import CenterClient, CenterUnreachable
    from kiosk.link.grants import GrantBook

    book = GrantBook()
    with CenterClient(pair.url, pair.token, grants=book) as c:
        c.identify(STUDENT["code"], STUDENT["last4"], "EK43", {"kind": "batch", "id": "GD2026-01"})
    ticket = book.upload_ticket(STUDENT["code"])
    victim = pair.hosts[plan.backend]
    pair.proxy.plan(plan)
    failure: list[BaseException] = []

    def first_attempt() -> None:
        with CenterClient(pair.url, pair.token, grants=book, timeout=(3, 60)) as c:
            try:
                c.upload(STUDENT["code"], photo, key, ticket=ticket)
            except BaseException as exc:  # noqa: BLE001 - kept for the assertion
                failure.append(exc)

    attempt = threading.Thread(target=first_attempt)
    attempt.start()
    assert pair.proxy.held.wait(30), "the upload never reached the host"
    held_versions = _versions(pair, STUDENT["code"])
    victim.kill()
    attempt.join(30)
    assert failure and isinstance(failure[0], CenterUnreachable), failure
    with CenterClient(pair.url, pair.token, grants=book, timeout=(3, 60)) as c:  # the outbox
        out = c.upload(STUDENT["code"], photo, key, ticket=ticket)
    return {"answer": out, "versions_when_killed": held_versions}


def _stored_once(pair: Pair, photo: bytes) -> None:
    import hashlib

    from center.settings import CenterSettings
    from center.storage import open_store

    assert _versions(pair, STUDENT["code"]) == 1  # nothing doubled
    with pair.server.db.read() as conn:
        sha = conn.execute(select(t.photo_versions.c.sha256)).scalar_one()
        keys = conn.execute(select(func.count()).select_from(t.idempotency)).scalar_one()
    assert sha == hashlib.sha256(photo).hexdigest() and keys == 1
    settings = CenterSettings(pair.a.dir / "data", PG_URL, pair.conf)
    store = open_store(settings, pair.server.db)
    try:
        assert store.get(sha) == photo  # nothing lost: the shared store has it
    finally:
        store.close()


def test_host_killed_mid_upload_body_loses_nothing(fresh_pair: Pair, photo: bytes) -> None:
    out = _kiosk_upload_killing_host(
        fresh_pair, photo, Plan(backend=0, request_bytes=len(photo) // 2), "k-killed-mid-body"
    )
    assert out["versions_when_killed"] == 0
    assert out["answer"]["order"]["version"] == 1 and out["answer"]["order"]["state"] == "pending_review"
    _stored_once(fresh_pair, photo)


def test_host_killed_before_its_answer_doubles_nothing(fresh_pair: Pair, photo: bytes) -> None:
    out = _kiosk_upload_killing_host(
        fresh_pair, photo, Plan(backend=1, hold_answer=True), "k-killed-after-commit"
    )
    assert out["versions_when_killed"] == 1  # host B had committed it, then died
    assert out["answer"]["order"]["version"] == 1  # the retry on host A is a replay
    _stored_once(fresh_pair, photo)
