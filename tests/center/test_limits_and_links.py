"""A kiosk guessing many codes is stopped; download links expire and cannot be forged."""

from __future__ import annotations

import pytest

from center.links import make_token, read_token
from tests.center.conftest import STUDENT, Running, base_overrides, identify


def test_kiosk_guessing_codes_is_locked_out(tmp_path, db_url):
    run = Running(
        tmp_path / "c", db_url, base_overrides(identify={"kiosk_max_failures": 4})
    ).start()
    try:
        c = run.client()
        codes = [f"GUESS{n:011d}" for n in range(3)]
        for code in codes:
            assert identify(c, collection_code=code).json()["error"]["code"] == "wrong_digits"
        r = identify(c, id_last4="9999")  # a fourth miss, this time wrong digits
        assert r.status_code == 423 and r.json()["error"]["code"] == "locked_out"
        # the whole kiosk is locked now, even for a correct entry ...
        assert identify(c).status_code == 423
        # ... but another kiosk is not
        from center.admin import add_kiosk

        other = run.client(add_kiosk(run.server.db, "other-booth"))
        assert identify(other).status_code == 200
    finally:
        run.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_identify_calls_per_minute_limited(tmp_path, db_url):
    run = Running(
        tmp_path / "c", db_url, base_overrides(identify={"kiosk_max_per_minute": 3})
    ).start()
    try:
        c = run.client()
        assert [identify(c).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert int(identify(c).headers["Retry-After"]) > 0
    finally:
        run.stop()


def test_download_tokens_expire_and_resist_forgery():
    secret = b"k" * 32
    token = make_token(secret, "261128120000123456", 3, expires_at=2_000)
    assert read_token(secret, token, now=1_999) == ("261128120000123456", 3)
    assert read_token(secret, token, now=2_001) is None
    assert read_token(b"x" * 32, token, now=1_000) is None
    payload, sig = token.split(".")
    forged = make_token(secret, "261128120000999999", 3, expires_at=2_000).split(".")[0]
    assert read_token(secret, f"{forged}.{sig}", now=1_000) is None
    assert STUDENT["code"] not in token


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_forged_tokens_do_not_lock_out_the_real_kiosk(center):
    kiosk_id = center.token.split(".")[0]
    assert center.client().get("/api/v1/keys").status_code == 200  # a kiosk in use
    for n in range(12):
        r = center.client(f"{kiosk_id}.forged-token-number-{n:04d}-xxxxxxxx").get("/api/v1/keys")
        assert r.status_code == 401
    # the genuine kiosk keeps working (nothing is counted per claimed kiosk id)
    assert center.client().get("/api/v1/keys").status_code == 200
