"""What a scanned QR is: a collection code, our signed batch/region QR, or something to refuse.

Signed context QRs: ``KSK1.<b64url(json)>.<b64url(ed25519 signature)>``; the
signature covers the ASCII text ``KSK1.<b64url(json)>`` so neither the version
prefix nor a byte of the JSON can change unnoticed. JSON:
``{"v":1,"kind":"batch"|"region","id","name","feature_required","valid_from","valid_to"}``
with ISO dates, both inclusive, in the booth's local calendar.

Nothing here raises on bad input: ``classify`` returns ``rejected`` with a
reason for anything, and a collection code only leaves as ``Payload.code``
(its ``repr`` shows a ``code_ref``, never the code).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from kiosk.errors import KioskError
from kiosk.redact import code_ref
from kiosk.words import catalogue

log = logging.getLogger(__name__)

PREFIX = "KSK1."
VERSION = 1
KINDS = ("batch", "region")


@dataclass(frozen=True)
class PosterContext:
    """A verified batch (集中采集) or region (散排采集) the booth works for."""

    kind: str
    id: str
    name: str
    feature_required: bool
    valid_from: dt.date
    valid_to: dt.date
    version: int = VERSION
    verified: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": self.version,
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "feature_required": self.feature_required,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
        }


@dataclass(frozen=True)
class Payload:
    """``kind`` is collection_code, batch, region or rejected (then ``reason``, zh, en)."""

    kind: str
    code: str = field(default="", repr=False)
    context: PosterContext | None = None
    reason: str = ""
    zh: str = ""
    en: str = ""

    @property
    def value(self) -> str:
        return self.code or (self.context.id if self.context else "")

    @property
    def ref(self) -> str:
        """What may be logged: a code reference, the context id, or the reason."""
        if self.kind == "collection_code":
            return code_ref(self.code)
        if self.context:
            return f"{self.kind}:{self.context.id}"
        return f"rejected:{self.reason}"

    def __repr__(self) -> str:
        return f"Payload(kind={self.kind!r}, ref={self.ref!r})"

    __str__ = __repr__


class ContextRefused(KioskError):
    """A batch/region QR that is forged, altered, expired or malformed."""


def _reason_words(reason: str) -> tuple[str, str]:
    """(zh, en) for a refusal, from ``config/messages/scan.toml``."""
    entry = catalogue("scan")[reason]
    return entry["zh"], entry["en"]


_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:(//)?\S|^www\.", re.ASCII)
_PAYMENT_SCHEMES = ("wxp://", "weixin://", "alipays://", "alipay", "https://qr.alipay.com",
                    "https://wx.tenpay.com", "https://payapp.weixin.qq.com", "unionpay")


def _refuse(reason: str, detail: str = "") -> ContextRefused:
    zh, en = _reason_words(reason)
    return ContextRefused(reason, zh, en, detail)


def _rejected(reason: str) -> Payload:
    zh, en = _reason_words(reason)
    return Payload("rejected", reason=reason, zh=zh, en=en)


def _b64d(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _private_key(raw: Any) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if isinstance(raw, Ed25519PrivateKey):
        return raw
    return Ed25519PrivateKey.from_private_bytes(bytes(raw))


def _public_keys(keys: list[Any]) -> list[Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    out = []
    for k in keys:
        if isinstance(k, Ed25519PublicKey):
            out.append(k)
            continue
        raw = k.encode("ascii") if isinstance(k, str) else bytes(k)
        if len(raw) != 32:
            raw = base64.b64decode(raw)  # base64 text as served by GET /api/v1/keys
        out.append(Ed25519PublicKey.from_public_bytes(raw))
    return out


def sign_context(private_key_raw: Any, ctx: dict[str, Any] | PosterContext) -> str:
    """The QR text for a batch/region poster (the center signs with its private key)."""
    data = ctx.as_dict() if isinstance(ctx, PosterContext) else dict(ctx)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    body = {
        "v": int(data.get("v", VERSION)),
        "kind": kind,
        "id": str(data["id"]),
        "name": str(data.get("name", "")),
        "feature_required": bool(data.get("feature_required", kind == "batch")),
        "valid_from": _date(data["valid_from"]).isoformat(),
        "valid_to": _date(data["valid_to"]).isoformat(),
    }
    js = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    signed = PREFIX + _b64e(js.encode("utf-8"))
    signature = _private_key(private_key_raw).sign(signed.encode("ascii"))
    return signed + "." + _b64e(signature)


def _parse_context(text: str) -> tuple[str, bytes, dict[str, Any]]:
    parts = text.split(".")
    if len(parts) != 3 or parts[0] + "." != PREFIX:
        raise _refuse("bad_format", "expected KSK1.<json>.<signature>")
    try:
        body = json.loads(_b64d(parts[1]).decode("utf-8"))
        signature = _b64d(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _refuse("bad_format", f"undecodable: {type(exc).__name__}") from None
    if not isinstance(body, dict):
        raise _refuse("bad_format", "body is not a JSON object")
    return PREFIX + parts[1], signature, body


def _context_from(body: dict[str, Any], verified: bool) -> PosterContext:
    if body.get("v") != VERSION:
        raise _refuse("unknown_version", f"version {body.get('v')!r}")
    try:
        ctx = PosterContext(
            kind=str(body["kind"]),
            id=str(body["id"]),
            name=str(body.get("name", "")),
            feature_required=bool(body.get("feature_required", False)),
            valid_from=_date(body["valid_from"]),
            valid_to=_date(body["valid_to"]),
            verified=verified,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _refuse("bad_format", f"missing or bad field: {exc}") from None
    if ctx.kind not in KINDS or not ctx.id:
        raise _refuse("bad_format", f"kind {ctx.kind!r}, id {ctx.id!r}")
    return ctx


def _check_dates(ctx: PosterContext, today: dt.date | None) -> None:
    day = today or dt.date.today()
    if day < ctx.valid_from:
        raise _refuse("not_yet_valid", f"{ctx.kind} {ctx.id} valid from {ctx.valid_from}")
    if day > ctx.valid_to:
        raise _refuse("expired", f"{ctx.kind} {ctx.id} valid to {ctx.valid_to}")


def verify_context(
    text: str | bytes, public_keys_raw: list[Any], today: dt.date | None = None
) -> PosterContext:
    """The context of a genuine, current poster QR; ``ContextRefused`` otherwise."""
    from cryptography.exceptions import InvalidSignature

    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise _refuse("bad_format", "not ASCII") from None
    signed, signature, body = _parse_context(text.strip())
    keys = _public_keys(public_keys_raw or [])
    if not keys:
        raise _refuse("no_keys", "no context public keys configured or fetched")
    for key in keys:
        try:
            key.verify(signature, signed.encode("ascii"))
            break
        except InvalidSignature:
            continue
    else:
        raise _refuse("bad_signature", f"signature matches none of {len(keys)} key(s)")
    ctx = _context_from(body, verified=True)
    _check_dates(ctx, today)
    return ctx


def _looks_like_payment(digits: str) -> bool:
    # WeChat Pay 10-15 + 16 digits (18 in all), Alipay 25-30 + 14-22 digits.
    return 16 <= len(digits) <= 24 and digits[:2] in {
        "10", "11", "12", "13", "14", "15", "25", "26", "27", "28", "29", "30", "62"
    }


def classify(
    payload: bytes | str,
    public_keys: list[Any] | None = None,
    today: dt.date | None = None,
    rules: dict[str, Any] | None = None,
) -> Payload:
    """Sort a scanned payload. Never raises on content.

    Batch/region QRs are verified when keys are given (or configured in
    ``scanner.context_public_keys``); without any key they are only parsed and
    date-checked (``context.verified`` is False) and ``verify_context`` must
    still be called before the booth trusts them. ``rules`` is the program's
    ``[scanner]`` table (code length and characters, payload cap, poster keys);
    without it, the built-in rules.
    """
    r = rules or {}
    max_bytes = int(r.get("max_payload_bytes", 1024))
    raw = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        return _rejected("too_long")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return _rejected("invalid_utf8")
    if not text:
        return _rejected("empty")
    if text.startswith(PREFIX):
        return _classify_context(text, public_keys, today, r)
    lower = text.lower()
    if any(lower.startswith(s) for s in _PAYMENT_SCHEMES):
        return _rejected("payment_code")
    if _URL.match(text):
        return _rejected("url")
    if text.isdigit() and text.isascii():
        if _looks_like_payment(text):
            return _rejected("payment_code")
        if len(text) in (8, 12, 13, 14):
            return _rejected("barcode")
        return _rejected("not_a_code")
    charset = set(str(r.get("code_charset") or "")) or set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    )
    lo, hi = int(r.get("code_min_length", 8)), int(r.get("code_max_length", 64))
    if not lo <= len(text) <= hi or not set(text) <= charset:
        return _rejected("not_a_code")
    if r.get("code_require_letter", True) and not any(c.isalpha() for c in text):
        return _rejected("not_a_code")
    return Payload("collection_code", code=text)


def _classify_context(
    text: str, public_keys: list[Any] | None, today: dt.date | None, rules: dict[str, Any]
) -> Payload:
    keys = public_keys if public_keys is not None else list(rules.get("context_public_keys", []))
    try:
        if keys:
            ctx = verify_context(text, keys, today)
        else:
            _, _, body = _parse_context(text)
            ctx = _context_from(body, verified=False)
            _check_dates(ctx, today)
    except ContextRefused as exc:
        log.info("context QR refused: %s (%s)", exc.code, exc.detail)
        return Payload("rejected", reason=exc.code, zh=exc.zh, en=exc.en)
    except Exception as exc:  # noqa: BLE001 - e.g. a malformed key: refuse, never crash
        log.warning("context QR not checkable: %s", type(exc).__name__)
        return _rejected("bad_format")
    return Payload(ctx.kind, context=ctx)
