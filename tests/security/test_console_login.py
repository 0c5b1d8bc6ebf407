"""Issue 10 §3: the review console's sign-in, logout, poster page and kiosk control.

Real HTTP on loopback; other addresses come through ``X-Forwarded-For``, which
uvicorn honours from 127.0.0.1 (the TLS proxy's place).
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from center.admin import add_reviewer
from center.console import session as console_session
from center.runner import ServerThread
from center.settings import CenterSettings
from kiosk.cli.center_setup import center_settings
from tests.center.conftest import (
    REVIEWER,
    STUDENT,
    Running,
    base_overrides,
    console_client,
    csrf_of,
    identify,
)

ROOT = Path(__file__).resolve().parents[2]


def _login(c: httpx.Client, name: str, password: str, source: str = "") -> httpx.Response:
    headers = {"X-Forwarded-For": source} if source else {}
    return c.post("/console/login", data={"name": name, "password": password}, headers=headers)


def test_concurrent_guesses_check_at_most_the_limit(tmp_path, db_url):
    run = Running(tmp_path / "c", db_url, {**base_overrides(), "api_threads": 24}).start()
    try:
        add_reviewer(run.server.db, *REVIEWER)
        guesses = [f"wrong-password-{n}" for n in range(50)] + [REVIEWER[1]]

        def attempt(password: str) -> int:
            with httpx.Client(base_url=run.url, timeout=60) as c:
                return _login(c, REVIEWER[0], password).status_code

        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(attempt, guesses))
        checked = codes.count(401) + codes.count(303)
        # 5 attempts per address and name: never more passwords checked, however
        # many arrive at once (the counter is taken before the check, atomically)
        assert checked <= 5, codes
        assert codes.count(429) >= 46
    finally:
        run.stop()


def test_a_stranger_cannot_lock_a_reviewer_out(tmp_path, db_url):
    run = Running(
        tmp_path / "c",
        db_url,
        base_overrides(console={"login_account_slowdown_seconds": 1}),
    ).start()
    try:
        add_reviewer(run.server.db, *REVIEWER)
        stranger = httpx.Client(base_url=run.url, timeout=10)
        codes = [_login(stranger, REVIEWER[0], f"guess-{n}", "203.0.113.9").status_code
                 for n in range(30)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}  # the stranger waits
        # the reviewer, from their own desk, gets in (at most after the short slow-down)
        reviewer = httpx.Client(base_url=run.url, timeout=10)
        for _ in range(5):
            r = _login(reviewer, *REVIEWER, "198.51.100.7")
            if r.status_code != 429:
                break
            assert int(r.headers["Retry-After"]) <= 1
            time.sleep(1.1)
        assert r.status_code == 303 and "center_session" in reviewer.cookies
    finally:
        run.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unknown_names_cost_the_same_password_check(center, monkeypatch):
    """Equal time: an unknown name runs the same scrypt as a known one."""
    add_reviewer(center.server.db, *REVIEWER)
    calls: list[str] = []
    real = console_session.verify_secret

    def counting(password: str, stored: str) -> bool:  # a spy: the real check runs
        calls.append(stored.split("$")[0])
        return real(password, stored)

    monkeypatch.setattr(console_session, "verify_secret", counting)
    c = httpx.Client(base_url=center.url, timeout=10)
    assert _login(c, REVIEWER[0], "not-the-password", "192.0.2.1").status_code == 401
    assert _login(c, "nobody-by-this-name", "not-the-password", "192.0.2.2").status_code == 401
    assert calls == ["scrypt", "scrypt"]


def test_logout_ends_the_session_on_the_server(center):
    c = console_client(center)
    stolen = c.cookies.get("center_session")
    assert c.get("/console/review").status_code == 200
    r = c.post("/console/logout")
    assert r.status_code == 303
    replay = httpx.Client(base_url=center.url, timeout=10)
    replay.cookies.set("center_session", stolen, path="/console")
    r = replay.get("/console/review")
    assert r.status_code == 303 and r.headers["location"].endswith("/console/login")


def test_poster_404_does_not_echo_markup(center):
    c = console_client(center)
    r = c.get('/console/posters/batch/<img src=x onerror=alert(1)>.pdf')
    assert r.status_code == 404
    assert "<img" not in r.text and "&lt;img" in r.text


def _serve(settings: CenterSettings) -> ServerThread:
    return ServerThread(settings).start()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_kiosk_disable_enable_rotate_act_at_once_in_every_center(tmp_path, db_url, center):
    """Two centers on one database (two processes' worth of memory each), the CLI
    in a third process: each change holds on the very next request everywhere."""
    settings = center_settings(
        data_dir=center.data_dir, db_url=center.db_url, overrides=base_overrides()
    )
    second = _serve(settings)
    try:
        urls = [center.url, second.base_url]

        def status_everywhere(token: str) -> list[int]:
            out = []
            for url in urls:
                with httpx.Client(base_url=url, timeout=10,
                                  headers={"Authorization": f"Bearer {token}"}) as c:
                    out.append(identify(c).status_code)
            return out

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "kiosk", "center", "kiosk", *args,
                 "--db", center.db_url, "--data", str(center.data_dir)],
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )

        token = center.token
        assert status_everywhere(token) == [200, 200]
        assert cli("disable", "test-kiosk").returncode == 0
        assert status_everywhere(token) == [401, 401]
        en = cli("enable", "test-kiosk")
        assert en.returncode == 0
        assert status_everywhere(token) == [200, 200]
        rotated = cli("rotate-token", "test-kiosk")
        assert rotated.returncode == 0, rotated.stderr
        new = rotated.stdout.strip()
        assert status_everywhere(token) == [401, 401]
        assert status_everywhere(new) == [200, 200]
        assert cli("disable", "no-such-kiosk").returncode == 3

        # the same from the console: disable, then re-key (shown once on the page)
        c = console_client(center)
        page = c.get("/console/kiosks").text
        assert 'action="/console/kiosks/1/disable"' in page
        r = c.post("/console/kiosks/1/disable", data={"csrf": csrf_of(page)})
        assert r.status_code == 303
        assert status_everywhere(new) == [401, 401]
        r = c.post("/console/kiosks/1/enable", data={"csrf": csrf_of(page)})
        r = c.post("/console/kiosks/1/rotate-token", data={"csrf": csrf_of(page)})
        assert r.status_code == 200
        import re

        shown = re.search(r"<code>([^<]+)</code>", r.text).group(1)
        assert status_everywhere(new) == [401, 401]
        assert status_everywhere(shown) == [200, 200]
        assert c.post("/console/kiosks/1/disable", data={"csrf": "stale"}).status_code == 403
        assert STUDENT["code"] not in r.text
    finally:
        second.stop()
