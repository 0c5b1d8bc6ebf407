"""Classifying scanned payloads: codes, signed batch/region QRs, and everything to refuse."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hardware.qr import make_decoder
from kiosk.qr_payloads import ContextRefused, classify, sign_context, verify_context
from kiosk.redact import code_ref

from .qrgen import phone_frame

TODAY = dt.date(2026, 5, 20)
CTX = {
    "v": 1,
    "kind": "batch",
    "id": "GD2026-01",
    "name": "广东2026届毕业生第一批",
    "feature_required": True,
    "valid_from": "2026-03-01",
    "valid_to": "2026-07-31",
}


def _keypair() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    priv = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return priv, pub


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return _keypair()


def test_collection_code_is_accepted_and_never_shown_whole() -> None:
    p = classify("DEMO2026GD000001")
    assert p.kind == "collection_code" and p.code == "DEMO2026GD000001"
    assert "DEMO2026GD000001" not in repr(p) and "DEMO2026GD000001" not in str(p)
    assert p.ref == code_ref("DEMO2026GD000001")
    assert classify(b"  DEMO2026GD000001\r\n").code == "DEMO2026GD000001"


JUNK = {
    "url": b"https://weixin.qq.com/r/abcdef",
    "payment_code": b"134567890123456789",  # WeChat Pay auth code
    "payment_code ": b"wxp://f2f0abcdefghijk",
    "barcode": b"6901234567892",  # EAN-13
    "too_long": os.urandom(4096),
    "invalid_utf8": b"\xff\xfe\xfd\xfcABCDEF",
    "not_a_code": b"DEMO 2026 GD",  # spaces
    "not_a_code ": b"AB1",  # too short
    "empty": b"   ",
}


@pytest.mark.parametrize("expected", sorted(JUNK))
def test_anything_else_is_rejected_with_a_reason(expected: str) -> None:
    p = classify(JUNK[expected])
    assert p.kind == "rejected"
    assert p.reason == expected.strip()
    assert p.zh and p.en and ("图像采集码" in p.zh or p.reason == "empty")


def test_random_junk_never_crashes() -> None:
    for n in range(300):
        data = os.urandom(n * 7 % 1500)
        assert classify(data).kind in ("rejected", "collection_code")
    for text in ["KSK1.", "KSK1..", "KSK1.!!!.???", "KSK1." + "A" * 900, "\ud800x"]:
        assert classify(text).kind == "rejected"


def test_signed_batch_qr_verifies(keys: tuple[bytes, bytes]) -> None:
    priv, pub = keys
    text = sign_context(priv, CTX)
    ctx = verify_context(text, [pub], today=TODAY)
    assert (ctx.kind, ctx.id, ctx.name, ctx.feature_required) == (
        "batch", "GD2026-01", CTX["name"], True)
    p = classify(text, public_keys=[base64.b64encode(pub).decode()], today=TODAY)
    assert p.kind == "batch" and p.context.verified and p.value == "GD2026-01"


def test_forged_and_altered_qrs_are_refused(keys: tuple[bytes, bytes]) -> None:
    priv, pub = keys
    forged = sign_context(_keypair()[0], CTX)  # someone else's key
    with pytest.raises(ContextRefused) as info:
        verify_context(forged, [pub], today=TODAY)
    assert info.value.code == "bad_signature" and "官方" in info.value.zh

    genuine = sign_context(priv, CTX)
    prefix, body, sig = genuine.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["valid_to"] = "2030-12-31"  # a poster "extended" by hand
    altered_body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    for text in (f"{prefix}.{altered_body}.{sig}", genuine[:-4] + "AAAA"):
        p = classify(text, public_keys=[pub], today=TODAY)
        assert p.kind == "rejected" and p.reason in ("bad_signature", "bad_format")


def test_expired_and_future_qrs_are_refused(keys: tuple[bytes, bytes]) -> None:
    priv, pub = keys
    text = sign_context(priv, {**CTX, "kind": "region", "id": "R-GZ-01"})
    assert classify(text, [pub], today=TODAY).kind == "region"
    late = classify(text, [pub], today=dt.date(2026, 8, 1))
    assert late.reason == "expired" and "过期" in late.zh
    assert classify(text, [pub], today=dt.date(2026, 2, 28)).reason == "not_yet_valid"
    assert classify(text, [pub], today=dt.date(2026, 7, 31)).kind == "region"  # inclusive


def test_unknown_version_is_refused(keys: tuple[bytes, bytes]) -> None:
    priv, pub = keys
    text = sign_context(priv, {**CTX, "v": 2})
    assert classify(text, [pub], today=TODAY).reason == "unknown_version"


def test_without_keys_a_context_is_sorted_but_not_trusted(keys: tuple[bytes, bytes]) -> None:
    text = sign_context(keys[0], CTX)
    p = classify(text, public_keys=[], today=TODAY)
    assert p.kind == "batch" and not p.context.verified
    with pytest.raises(ContextRefused) as info:
        verify_context(text, [], today=TODAY)
    assert info.value.code == "no_keys"


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_poster_qr_end_to_end_through_a_decoder(decoder: str, keys: tuple[bytes, bytes]) -> None:
    priv, pub = keys
    text = sign_context(priv, CTX)
    (payload,) = make_decoder(decoder).decode(phone_frame(text, module_px=5.0))
    p = classify(payload, [pub], today=TODAY)
    assert p.kind == "batch" and p.context.name == CTX["name"]


def test_codes_do_not_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code = "DEMO2026GD000009"
    p = classify(code)
    logging.getLogger("test").info("scanned %s", p)
    classify("KSK1.bogus.sig")
    assert code not in caplog.text
    assert code_ref(code) in caplog.text


def test_every_refusal_has_words_for_the_student() -> None:
    import re
    from pathlib import Path

    import kiosk.qr_payloads as qp
    from kiosk.words import catalogue

    source = Path(qp.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r"_(?:refuse|rejected)\(\"([a-z_0-9]+)\"", source))
    assert len(used) >= 10
    for reason in used:
        entry = catalogue("scan")[reason]
        assert re.search(r"[\u4e00-\u9fff]", entry["zh"]) and entry["en"], reason


def test_the_booth_trusts_only_a_verified_poster(keys: tuple[bytes, bytes]) -> None:
    """The booth's scanner names a context only for a poster verified with the center's
    keys; without keys (not fetched yet) the same poster can set nothing."""
    from kiosk.services.scanner import classify as booth_classify
    from kiosk.session import BoothContext

    priv, pub = keys
    today = dt.date.today()
    text = sign_context(priv, {**CTX, "valid_from": str(today - dt.timedelta(days=1)),
                               "valid_to": str(today + dt.timedelta(days=1))})
    trusted = booth_classify(text, [pub])
    assert trusted.kind == "batch"
    assert trusted.context == BoothContext("batch", "GD2026-01", CTX["name"], True)
    unverified = booth_classify(text, [])
    assert unverified.kind == "batch" and unverified.context is None
