"""Token sources, the embedded center's first start, the CLI and the outbox's durability settings."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kiosk.cli import EXIT_ERROR, EXIT_OK, main
from kiosk.errors import KioskError
from kiosk.link import token as tokens
from kiosk.link.client import CenterClient, CenterUnreachable
from kiosk.link.connect import make_client
from kiosk.link.embedded import EmbeddedCenter, embedded_url
from kiosk.link.outbox import Outbox, OutboxPolicy
from kiosk.settings import load_settings, parse_settings
from tests.conftest import center_conf
from tests.link.conftest import CODES, make_jpeg


def test_token_comes_from_credentials_then_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    loose = tmp_path / "device-token"
    loose.write_text("7.secret-from-file-xxxxxxxxxxxxxxxx\n")
    loose.chmod(0o644)
    with pytest.raises(KioskError) as exposed:
        tokens.load_token(str(loose))
    assert exposed.value.code == "no_device_token" and "chmod 600" in exposed.value.detail
    loose.chmod(0o600)
    assert tokens.load_token(str(loose)) == "7.secret-from-file-xxxxxxxxxxxxxxxx"

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kiosk-token").write_text("7.secret-from-systemd-xxxxxxxxxxxxx")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert tokens.load_token(str(loose)) == "7.secret-from-systemd-xxxxxxxxxxxxx"

    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(KioskError) as missing:
        tokens.load_token(str(tmp_path / "nope"))
    assert missing.value.zh and "nope" in missing.value.detail


def test_embedded_center_issues_a_token_once_and_keeps_it(tmp_path, _state_dir):
    first = EmbeddedCenter(_state_dir, center_conf(),
                           overrides={"upload": {"check_workers": 0}}).start()
    try:
        token, url = first.token, first.base_url
        assert embedded_url(_state_dir) == url
        stored = _state_dir / "center" / "kiosk-token"
        assert stored.read_text() == token and stored.stat().st_mode & 0o077 == 0
        # The booth's settings (center.url empty) find the embedded center and its token.
        with make_client(parse_settings([])) as cl:
            assert cl.base_url == url
            assert cl.identify(CODES[0], "1234", "EK43",
                               {"kind": "batch", "id": "GD2026-01"})["student"]["school"]
    finally:
        first.stop()
    assert embedded_url(_state_dir) is None
    with pytest.raises(CenterUnreachable):
        make_client(parse_settings([]))
    again = EmbeddedCenter(_state_dir, center_conf(),
                           overrides={"upload": {"check_workers": 0}}).start()
    try:
        assert again.token == token  # same kiosk, roster not loaded twice
        with CenterClient(again.base_url, again.token) as cl:
            cl.identify(CODES[0], "1234", "EK43", {"kind": "batch", "id": "GD2026-01"})
            assert cl.status(CODES[0])["order"]["state"] == "awaiting_photo"
    finally:
        again.stop()


def test_outbox_database_is_wal_with_full_sync(outbox):
    db = sqlite3.connect(outbox.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert outbox.path.stat().st_mode & 0o077 == 0


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    p = OutboxPolicy(backoff_base_s=2.0, backoff_max_s=60.0, jitter=0.5)
    assert [p.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert p.backoff(30, rng=lambda: 0.0) == 60.0
    assert p.backoff(3, rng=lambda: 1.0) == 4.0  # at most half taken off
    assert p.backoff(3, rng=lambda: 0.5) == 6.0


def test_enqueue_refuses_what_it_could_not_upload(outbox):
    with pytest.raises(KioskError) as not_jpeg:
        outbox.enqueue(CODES[0], b"\x89PNG....", "bad-input-0001")
    assert not_jpeg.value.zh
    with pytest.raises(KioskError):
        outbox.enqueue(CODES[0], make_jpeg(1), "short")
    assert outbox.depth() == 0 and not list(outbox.photos.iterdir())


def test_cli_status_drain_and_retry(
    center, client, tmp_path, _state_dir, capsys, monkeypatch, ticket
):
    tok = tmp_path / "device-token"
    tok.write_text(center.token)
    tok.chmod(0o600)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[center]\nurl = "{center.base_url}"\ntoken_file = "{tok}"\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    box = Outbox.open_default(None, load_settings())
    good = box.enqueue(CODES[1], make_jpeg(5), "cli-test-0001", upload_ticket=ticket(CODES[1]))
    bad = box.enqueue(CODES[2], make_jpeg(6, size=(100, 100)), "cli-test-0002", upload_ticket=ticket(CODES[2]))

    assert main(["outbox", "status", "--json"]) == EXIT_OK
    st = json.loads(capsys.readouterr().out)
    assert (st["pending"], st["parked"], st["depth"]) == (2, 0, 2)

    assert main(["outbox", "drain"]) == EXIT_OK
    assert "uploaded 1" in capsys.readouterr().out
    assert box.item(good)["state"] == "acked" and box.item(bad)["state"] == "parked"

    assert main(["outbox", "status"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "parked:    1" in text and "photo_noncompliant" in text and CODES[2] not in text
    assert "kiosk outbox retry" in text

    assert main(["outbox", "retry", str(bad)]) == EXIT_OK
    assert "re-queued 1" in capsys.readouterr().out
    assert box.item(bad)["state"] == "pending"

    center.stop()
    assert main(["outbox", "drain"]) == EXIT_ERROR
    assert "unreachable" in capsys.readouterr().out
    assert box.depth() == 1
    box.close()


def test_unreachable_detail_has_no_collection_code(tmp_path: Path):
    with CenterClient("http://127.0.0.1:9", "1.xxxxxxxxxxxxxxxxxxxxxxxx", timeout=0.5) as cl:
        with pytest.raises(CenterUnreachable) as exc:
            cl.identify(CODES[3], "1234")
    assert CODES[3] not in str(exc.value) and CODES[3] not in exc.value.detail
