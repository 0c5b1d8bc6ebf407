"""Two center hosts on one PostgreSQL and one S3 store, behind nginx.

Each host is a real ``kiosk center serve`` process with its own working
directory (data and secrets directory, config file), as on two machines; the
second host got the first one's secrets directory copied, as the operator
does (docs/capacity.md). Whatever one host decides, the other knows at once.

One pair of hosts serves every test that neither kills nor reconfigures a
host (module fixture ``pair``, behind real nginx running the shipped
deploy/nginx/kiosk-center-proxy.conf); each such test has its own kiosk,
students and reviewer (fixture ``own``), so none depends on what another
left behind. A test that kills a host starts that host of its own, beside the
shared host A, behind the small TCP proxy (tests/center/proxy.py): nginx
cannot stop forwarding an upload half-way or swallow a host's answer on cue.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from center import schema as t
from center.admin import add_kiosk, add_reviewer, import_roster
from center.demo import seed
from tests.center.conftest import (
    GRANT,
    PG_URL,
    KioskHttp,
    identify,
    make_jpeg,
    reset_pg,
    upload,
)
from tests.center.hosts import Host, Side
from tests.center.nginx import Nginx, nginx_binary
from tests.center.proxy import Plan, Proxy
from tests.center.s3 import s3_conf
from tests.center.smtp import SmtpServer

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="KIOSK_TEST_PG_URL not set (scripts/test.d/postgres.sh starts PostgreSQL)"
)
PER_MINUTE = 30  # identify calls per kiosk and minute, on all hosts together


def first_start(host: Host) -> None:
    """What the first host's first start does (migrate, make the secrets), done once
    here so that the hosts then start side by side."""
    from center.service import Center
    from kiosk.cli.center_setup import center_settings

    Center(center_settings(host.dir / "data", host.db_url, host.conf)).close()


class Pair:
    """Two hosts and what stands in front of them (nginx, or the small proxy for the
    tests that kill a host); quacks like tests.center.conftest.Running for the API
    flow (``client``, ``url``, ``server.db``, ``token``)."""

    def __init__(self, root: Path, conf: dict[str, Any], front: str) -> None:
        self.conf = conf
        self.a = Host(root, "host-a", PG_URL, self.conf)
        self.b = Host(root, "host-b", PG_URL, self.conf)
        self.hosts = [self.a, self.b]
        first_start(self.a)
        self.b.copy_secrets_from(self.a)
        for h in self.hosts:
            h.launch()
        for h in self.hosts:
            h.wait_started()
        backends = [("127.0.0.1", h.port) for h in self.hosts]
        self.front: Nginx | Proxy = (
            Nginx(backends).start() if front == "nginx" else Proxy(backends).start()
        )
        self.server = Side(PG_URL)
        self.token = ""

    @property
    def url(self) -> str:
        return self.front.url

    def served(self) -> list[int]:
        return list(self.front.served)

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
        self.front.stop()
        for h in self.hosts:
            h.stop()
        self.server.db.dispose()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, s3_url: str, smtp: SmtpServer) -> Iterator[Pair]:
    front = "nginx" if nginx_binary() else "proxy"
    if front == "proxy":
        warnings.warn("nginx not installed (apt: nginx-light, scripts/apt-packages.txt): "
                      "the shared hosts stand behind the small test proxy", stacklevel=1)
    reset_pg(PG_URL)
    conf = {
        "upload": {"check_workers": 0},
        "photo_store": s3_conf(s3_url),
        "identify": {"kiosk_max_per_minute": PER_MINUTE},
        "smtp": {"port": smtp.port, "retry_seconds": 1},
    }
    p = Pair(tmp_path_factory.mktemp("hosts"), conf, front=front)
    p.token = seed(p.server.db, "test-kiosk") or ""  # the demo roster, batch and region
    yield p
    p.close()


@dataclass
class Own:
    """What one test has to itself on the shared hosts."""

    tag: str
    kiosk: str
    token: str
    students: list[dict[str, str]]
    reviewer: tuple[str, str]


def make_own(db: Any) -> Own:
    """A new kiosk, three new students (demo batch GD2026-01) and a reviewer."""
    tag = uuid.uuid4().hex[:10]
    kiosk = f"kiosk-{tag}"
    token = add_kiosk(db, kiosk)
    students = [{"code": f"T{tag}{i}".upper(), "last4": f"{1000 + i}"} for i in range(3)]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["collection_code", "name", "id_last4", "school", "level", "major", "batch"])
    for s in students:
        w.writerow([s["code"], "测试生", s["last4"], "广州城市职业学院", "高等专科", "会计",
                    "GD2026-01"])
    import_roster(db, out.getvalue())
    return Own(tag, kiosk, token, students, (f"rev-{tag}", "correct horse battery"))


@pytest.fixture
def own(pair: Pair) -> Own:
    return make_own(pair.server.db)


class Flow:
    """The shared pair seen by one test: its own kiosk token (quacks like Running)."""

    def __init__(self, pair: Pair, token: str) -> None:
        self.pair, self.token, self.server = pair, token, pair.server

    @property
    def url(self) -> str:
        return self.pair.url

    def client(self, token: str | None = None) -> KioskHttp:
        return self.pair.client(self.token if token is None else token)


def test_api_flow_on_two_hosts_behind_nginx(pair: Pair, smtp: SmtpServer, photo: bytes,
                                            photo2: bytes, own: Own) -> None:
    from tests.center.test_api_flow import _journey

    before = pair.served()
    # the journey's student is the demo roster's first (used by no other test here)
    _journey(Flow(pair, own.token), smtp, photo, photo2)  # type: ignore[arg-type]
    spread = [n - b for n, b in zip(pair.served(), before, strict=True)]
    assert min(spread) >= 10, spread  # nginx gave both hosts a good share of the calls
    # the photos are in the shared store, not in either host's data directory
    for host in pair.hosts:
        assert not list((host.dir / "data" / "photos").rglob("*.jpg"))


def _direct(pair: Pair, host: Host, token: str) -> KioskHttp:
    return pair.client(token, base=host.url)


def test_wrong_digits_on_both_hosts_add_up_to_one_lock_out(pair: Pair, own: Own) -> None:
    who = own.students[0]
    left = []
    for i in range(4):
        host = pair.hosts[i % 2]
        r = identify(_direct(pair, host, own.token), who, id_last4="0000")
        assert r.status_code == 403, r.text
        left.append(r.json()["error"]["attempts_left"])
    assert left == [4, 3, 2, 1]  # one counter, whichever host answered
    assert identify(_direct(pair, pair.b, own.token), who, id_last4="0000").status_code == 423
    # locked on both hosts, the right digits included
    for host in pair.hosts:
        assert identify(_direct(pair, host, own.token), who).status_code == 423


def test_kiosk_rate_limit_counts_calls_on_both_hosts(pair: Pair, own: Own) -> None:
    codes = []
    for i in range(PER_MINUTE + 1):  # alternately on host A and host B
        r = identify(_direct(pair, pair.hosts[i % 2], own.token), own.students[0])
        codes.append(r.status_code)
    assert codes == [200] * PER_MINUTE + [429], codes


def test_token_rotated_through_host_a_is_refused_by_host_b_at_once(pair: Pair, own: Own) -> None:
    token = own.token
    for host in pair.hosts:
        assert _direct(pair, host, token).get("/api/v1/keys").status_code == 200
    out = pair.a.run_cli("kiosk", "rotate-token", own.kiosk)
    new = out.strip().splitlines()[0]
    assert _direct(pair, pair.b, token).get("/api/v1/keys").status_code == 401
    assert _direct(pair, pair.b, new).get("/api/v1/keys").status_code == 200
    pair.b.run_cli("kiosk", "disable", own.kiosk)
    assert _direct(pair, pair.a, new).get("/api/v1/keys").status_code == 401


def _plain(host: Host, token: str) -> httpx.Client:
    """A client that sends only the grants the test gives it."""
    return httpx.Client(base_url=host.url, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def test_grant_issued_on_one_host_ended_on_the_other(pair: Pair, own: Own) -> None:
    a, b = _plain(pair.a, own.token), _plain(pair.b, own.token)
    who = own.students[0]
    r = identify(a, who)
    assert r.status_code == 200
    grant = r.json()["grant"]["token"]
    body = {"collection_code": who["code"]}
    assert b.post("/api/v1/orders/status", json=body, headers={GRANT: grant}).status_code == 200
    assert b.post("/api/v1/grants/end", headers={GRANT: grant}).json() == {"ended": True}
    r = a.post("/api/v1/orders/status", json=body, headers={GRANT: grant})
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_required"


def test_upload_retried_on_the_other_host_is_a_replay(pair: Pair, photo: bytes, own: Own) -> None:
    a, b = _plain(pair.a, own.token), _plain(pair.b, own.token)
    who = own.students[0]
    r = identify(a, who)
    ticket = r.json()["upload_ticket"]["token"]
    a.headers[GRANT] = b.headers[GRANT] = ticket
    first = upload(a, who["code"], photo, f"k-two-hosts-{own.tag}")
    again = upload(b, who["code"], photo, f"k-two-hosts-{own.tag}")
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert _versions(pair, who["code"]) == 1


def test_console_session_and_login_limits_hold_on_both_hosts(pair: Pair, own: Own) -> None:
    name, password = own.reviewer
    add_reviewer(pair.server.db, name, password)
    one = httpx.Client(base_url=pair.a.url, timeout=15)
    r = one.post("/console/login", data={"name": name, "password": password})
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
                       data={"name": name, "password": "wrong"}).status_code
        )
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses


def _from(address: str, base: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.0.0.0/8 address is
    this machine's): a proxy's or a stranger's host, as the center sees it."""
    return httpx.Client(base_url=base, timeout=15,
                        transport=httpx.HTTPTransport(local_address=address))


def _login(c: httpx.Client, name: str, forwarded_for: str) -> int:
    return c.post("/console/login", data={"name": name, "password": "wrong"},
                  headers={"X-Forwarded-For": forwarded_for}).status_code


def test_forwarded_for_counts_only_from_a_trusted_proxy(pair: Pair, own: Own,
                                                        tmp_path: Path) -> None:
    """[center_server] trusted_proxies: the console's per-address login throttle counts
    per reviewer's address behind a proxy on another host (127.0.0.2 here), and a
    stranger's X-Forwarded-For changes nothing."""
    host = Host(tmp_path, "host-p", PG_URL, {**pair.conf, "trusted_proxies": ["127.0.0.2"]})
    host.copy_secrets_from(pair.a)
    host.start()
    try:
        name, password = own.reviewer
        other = name + "-2"  # apart: all of one reviewer's failures slow that reviewer down
        add_reviewer(pair.server.db, name, password)
        add_reviewer(pair.server.db, other, password)
        proxy, stranger = _from("127.0.0.2", host.url), _from("127.0.0.3", host.url)
        # behind the proxy: a reviewer at 10.1.0.1 reaches the pair limit (5) ...
        codes = [_login(proxy, name, "10.1.0.1") for _ in range(6)]
        assert codes == [401] * 5 + [429], codes
        # ... and one at 10.1.0.2, behind the same proxy, still has all attempts
        assert _login(proxy, name, "10.1.0.2") == 401
        # a stranger's header is not believed: a new "address" each time, one count
        codes = [_login(stranger, other, f"10.2.0.{i}") for i in range(6)]
        assert codes == [401] * 5 + [429], codes
    finally:
        host.stop()


def test_both_hosts_sign_with_the_one_poster_key(pair: Pair, own: Own) -> None:
    keys = [_direct(pair, h, own.token).get("/api/v1/keys").json()["context_public_keys"]
            for h in pair.hosts]
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


def _versions(pair: Pair | KillPair, code: str) -> int:
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


def test_nginx_sends_calls_past_a_dead_host(pair: Pair, own: Own, tmp_path: Path) -> None:
    """The shipped proxy rules' fail-over: with one host killed, a booth's upload
    through nginx succeeds on its first attempt (nginx tried the other host)."""
    from kiosk.link.client import CenterClient
    from kiosk.link.grants import GrantBook

    if nginx_binary() is None:
        pytest.skip("nginx not installed (apt: nginx-light)")
    victim = Host(tmp_path, "host-dead", PG_URL, pair.conf)
    victim.copy_secrets_from(pair.a)
    victim.start()
    front = Nginx([("127.0.0.1", victim.port), ("127.0.0.1", pair.a.port)]).start()
    try:
        victim.kill()
        before = front.served  # nginx's own start-up probe
        who, photo = own.students[0], _photo_of_its_own(66)
        book = GrantBook()
        with CenterClient(front.url, own.token, grants=book, timeout=(3, 60)) as c:
            c.identify(who["code"], who["last4"], "EK43", {"kind": "batch", "id": "GD2026-01"})
            out = c.upload(who["code"], photo, f"k-nginx-{own.tag}",
                           ticket=book.upload_ticket(who["code"]))
            assert out["order"]["version"] == 1
            for _ in range(6):
                assert c.status(who["code"])["order"]["version"] == 1
        # every call answered by the live host
        assert [n - b for n, b in zip(front.served, before, strict=True)] == [0, 8]
        assert _versions(pair, who["code"]) == 1
    finally:
        front.stop()
        victim.stop()


# -- a host killed mid-upload ------------------------------------------------------
class KillPair:
    """A host of the test's own, the one to be killed, and the shared pair's host A
    (never killed), behind the small proxy; the victim is backend 0."""

    def __init__(self, pair: Pair, root: Path) -> None:
        self.victim = Host(root, "host-victim", PG_URL, pair.conf)
        self.victim.copy_secrets_from(pair.a)
        self.victim.start()
        self.a, self.conf, self.server = pair.a, pair.conf, pair.server
        self.hosts = [self.victim, pair.a]
        self.front = Proxy([("127.0.0.1", h.port) for h in self.hosts]).start()

    @property
    def url(self) -> str:
        return self.front.url

    def close(self) -> None:
        self.front.stop()
        self.victim.stop()


@pytest.fixture
def kill_pair(pair: Pair, tmp_path: Path) -> Iterator[KillPair]:
    p = KillPair(pair, tmp_path)
    yield p
    p.close()


def _kiosk_upload_killing_host(pair: KillPair, own: Own, photo: bytes, plan: Plan,
                               key: str) -> dict[str, Any]:
    """The booth's own client uploads; the host the proxy chose dies on the way.

    The first attempt fails (CenterUnreachable), the outbox retries the same
    idempotency key with the upload ticket, and the proxy sends the retry to
    the host still alive.
    """
    from kiosk.link.client import CenterClient, CenterUnreachable
    from kiosk.link.grants import GrantBook

    who = own.students[0]
    book = GrantBook()
    with CenterClient(pair.url, own.token, grants=book) as c:
        c.identify(who["code"], who["last4"], "EK43", {"kind": "batch", "id": "GD2026-01"})
    ticket = book.upload_ticket(who["code"])
    victim = pair.hosts[plan.backend]
    pair.front.plan(plan)
    failure: list[BaseException] = []

    def first_attempt() -> None:
        with CenterClient(pair.url, own.token, grants=book, timeout=(3, 60)) as c:
            try:
                c.upload(who["code"], photo, key, ticket=ticket)
            except BaseException as exc:  # noqa: BLE001 - kept for the assertion
                failure.append(exc)

    attempt = threading.Thread(target=first_attempt)
    attempt.start()
    assert pair.front.held.wait(30), "the upload never reached the host"
    held_versions = _versions(pair, who["code"])
    victim.kill()
    attempt.join(30)
    assert failure and isinstance(failure[0], CenterUnreachable), failure
    with CenterClient(pair.url, own.token, grants=book, timeout=(3, 60)) as c:  # the outbox
        out = c.upload(who["code"], photo, key, ticket=ticket)
    return {"answer": out, "versions_when_killed": held_versions}


def _stored_once(pair: KillPair, own: Own, photo: bytes) -> None:
    from center.settings import CenterSettings
    from center.storage import open_store

    code = own.students[0]["code"]
    assert _versions(pair, code) == 1  # nothing doubled
    with pair.server.db.read() as conn:
        sha = conn.execute(
            select(t.photo_versions.c.sha256)
            .join(t.orders, t.orders.c.id == t.photo_versions.c.order_id)
            .join(t.students, t.students.c.id == t.orders.c.student_id)
            .where(t.students.c.collection_code == code)
        ).scalar_one()
        keys = conn.execute(
            select(func.count())
            .select_from(t.idempotency)
            .join(t.kiosks, t.kiosks.c.id == t.idempotency.c.kiosk_id)
            .where(t.kiosks.c.name == own.kiosk)
        ).scalar_one()
    assert sha == hashlib.sha256(photo).hexdigest() and keys == 1
    settings = CenterSettings(pair.a.dir / "data", PG_URL, pair.conf)
    store = open_store(settings, pair.server.db)
    try:
        assert store.get(sha) == photo  # nothing lost: the shared store has it
    finally:
        store.close()


def _photo_of_its_own(quality: int) -> bytes:
    """A photo no other test uploads (the store is content-addressed and shared)."""
    data = make_jpeg("man_beard_grey.jpg", quality=quality)
    assert 20 * 1024 <= len(data) <= 40 * 1024, len(data)
    return data


def test_host_killed_mid_upload_body_loses_nothing(kill_pair: KillPair, pair: Pair) -> None:
    own, photo = make_own(pair.server.db), _photo_of_its_own(68)
    out = _kiosk_upload_killing_host(
        kill_pair, own, photo, Plan(backend=0, request_bytes=len(photo) // 2), "k-killed-mid-body"
    )
    assert out["versions_when_killed"] == 0
    assert out["answer"]["order"]["version"] == 1 and out["answer"]["order"]["state"] == "pending_review"
    _stored_once(kill_pair, own, photo)


def test_host_killed_before_its_answer_doubles_nothing(kill_pair: KillPair, pair: Pair) -> None:
    own, photo = make_own(pair.server.db), _photo_of_its_own(70)
    out = _kiosk_upload_killing_host(
        kill_pair, own, photo, Plan(backend=0, hold_answer=True), "k-killed-after-commit"
    )
    assert out["versions_when_killed"] == 1  # the victim had committed it, then died
    assert out["answer"]["order"]["version"] == 1  # the retry on host A is a replay
    _stored_once(kill_pair, own, photo)
