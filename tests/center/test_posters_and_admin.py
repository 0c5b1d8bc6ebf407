"""Posters carry a QR kiosks can verify with the served keys; roster imports
refuse bad files whole; the CLI issues tokens that work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from center.admin import RosterInvalid, import_roster
from tests.center.conftest import identify


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_poster_qr_verifies_with_served_keys(center):
    zxingcpp = pytest.importorskip("zxingcpp")
    from center.posters import poster_image, poster_pdf
    from kiosk.qr_payloads import classify, verify_context

    keys = center.client().get("/api/v1/keys").json()["context_public_keys"]
    for kind, ident in (("batch", "GD2026-01"), ("region", "R-GZ-01")):
        image = poster_image(center.server.center, kind, ident)
        found = zxingcpp.read_barcodes(image.resize((1240, 1754)))
        assert len(found) == 1
        ctx = verify_context(found[0].text, keys)
        assert (ctx.kind, ctx.id) == (kind, ident)
        assert classify(found[0].text, keys).kind == kind
        assert poster_pdf(center.server.center, kind, ident).startswith(b"%PDF")
    # a poster from another center's key is refused
    from center.keys import public_key_b64

    other = public_key_b64(bytes(range(32)))
    with pytest.raises(Exception, match="signature"):
        verify_context(found[0].text, [other])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_roster_refused_whole_without_personal_data(center):
    bad = (
        "collection_code,name,id_last4,school,level,major,batch\n"
        "DEMO2026GD000050,钱七,12345,学校,本科,专业,GD2026-01\n"
        "DEMO2026GD000051,孙八,1234,学校,本科,专业,NO-SUCH\n"
        "DEMO2026GD000052,周九,123X,学校,本科,专业,GD2026-01\n"
    )
    with pytest.raises(RosterInvalid) as err:
        import_roster(center.server.db, bad)
    assert "第 2 行" in err.value.zh and "第 3 行" in err.value.zh  # lines, in Chinese
    for text in (err.value.zh, err.value.detail):
        assert "钱七" not in text and "12345" not in text
    r = identify(center.client(), {"code": "DEMO2026GD000052", "last4": "123X"})
    assert r.status_code == 403  # nothing of the file was imported: no such student


def test_cli_add_kiosk_token_works(tmp_path, photo):
    import httpx

    from center.runner import ServerThread
    from kiosk.cli.center_setup import center_settings

    data = tmp_path / "center"

    def kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "kiosk", "center", *args, "--data", str(data)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert kiosk("seed-demo").returncode == 0
    issued = kiosk("add-kiosk", "booth-7")
    assert issued.returncode == 0
    token = issued.stdout.strip()
    assert kiosk("add-reviewer", "alice", stdin="long-password\n").returncode == 0
    short = kiosk("add-reviewer", "bob", stdin="short\n")
    assert short.returncode == 3 and "8 characters" in short.stderr
    settings = center_settings(data_dir=data, overrides={"upload": {"check_workers": 0}})
    with ServerThread(settings) as srv:
        c = httpx.Client(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"})
        assert identify(c).status_code == 200
    # the token is stored hashed only
    assert token.encode() not in (data / "center.db").read_bytes()


def test_cli_serve_starts_answers_and_stops_on_sigterm(tmp_path):
    import signal
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "center",
            "serve",
            "--data",
            str(tmp_path / "c"),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
        assert r.json() == {"ok": True}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/keys").status_code == 401
        key = tmp_path / "c" / "secrets" / "context_signing_key.ed25519"
        assert key.stat().st_mode & 0o077 == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal (systemd: clean stop)
        assert proc.wait(20) in (0, -signal.SIGTERM)
        assert "Traceback" not in proc.stderr.read()
