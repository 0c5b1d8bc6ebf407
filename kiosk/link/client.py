"""HTTP client for Center API v1 (see docs/architecture.md, "Center API v1").

Every call has a connect and a read timeout, so a dead network never hangs a
worker. Failures come out as two kinds the callers treat differently:
``CenterUnreachable`` (try again later; nothing the student did) and
``CenterRefused`` (the center answered with an error body; ``retryable`` says
whether the same request may succeed later, e.g. a 503, or never will, e.g.
``order_locked``). Collection codes travel only in JSON bodies and never reach
a log line except as ``kiosk.redact.code_ref``.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import requests

from kiosk import notices
from kiosk.errors import KioskError
from kiosk.link.grants import HEADER as GRANT_HEADER
from kiosk.link.grants import GrantBook
from kiosk.redact import code_ref

log = logging.getLogger(__name__)

API = "/api/v1"

# Keys of config/messages/faults.toml for "no answer": any call, and an upload
# (whose photo is safe in the outbox and goes later).
UNREACHABLE = "center_unreachable"
UPLOAD_UNREACHABLE = "upload_unreachable"

# HTTP statuses after which the same request may well succeed later: the center
# is overloaded, restarting, or the booth's token is being fixed by an operator.
RETRYABLE_STATUS = frozenset({401, 403, 408, 425, 429, 500, 502, 503, 504})
# Error codes that are about the device or the moment, not about this request.
RETRYABLE_CODES = frozenset(
    {"unauthorized", "forbidden", "bad_token", "rate_limited", "unavailable", "busy"}
)
# Error codes about this request itself: sending it again cannot change the answer.
PERMANENT_CODES = frozenset(
    {"wrong_digits", "locked_out", "unknown_code", "order_locked", "photo_noncompliant",
     "not_pending", "invalid_request", "validation_error", "bad_request", "not_found",
     "grant_required", "wrong_feature_code", "wrong_batch"}
)


class CenterUnreachable(KioskError):
    """No answer from the center: connection refused, DNS, TLS, timeout, cut transfer."""

    retryable = True

    def __init__(self, detail: str, zh: str = "", en: str = "") -> None:
        if not zh or not en:
            zh, en = notices.words(UNREACHABLE)
        super().__init__("center_unreachable", zh, en, detail)


class CenterRefused(KioskError):
    """The center answered with an error body ``{"error": {code, zh, en, ...}}``.

    ``extra`` keeps the body's other fields (``attempts_left``, ``retry_after``,
    ``report``...) so screens can show them; ``status`` is the HTTP status.
    """

    def __init__(
        self,
        code: str,
        zh: str,
        en: str,
        extra: dict[str, Any] | None = None,
        status: int = 0,
        detail: str = "",
    ) -> None:
        super().__init__(code, zh, en, detail or f"HTTP {status} {code}")
        self.extra = dict(extra or {})
        self.status = status

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later without anyone changing it."""
        if self.code in PERMANENT_CODES:
            return False
        if self.code in RETRYABLE_CODES:
            return True
        return self.status in RETRYABLE_STATUS


def _refused_from(resp: requests.Response) -> CenterRefused:
    """Build ``CenterRefused`` from an error answer, even one that is not our format."""
    body: Any = None
    try:
        body = resp.json()
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("code"):
        extra = {k: v for k, v in err.items() if k not in ("code", "zh", "en")}
        return CenterRefused(
            str(err["code"]),
            str(err.get("zh") or notices.words("center_refused")[0]),
            str(err.get("en") or notices.words("center_refused")[1]),
            extra,
            resp.status_code,
        )
    # Not the documented shape (a proxy's error page, a framework default).
    extra = {"body": body} if isinstance(body, dict | list) else {}
    if resp.status_code >= 500 or resp.status_code in RETRYABLE_STATUS:
        zh, en = notices.words(UNREACHABLE)
    else:
        zh, en = notices.words("center_refused")
    return CenterRefused(f"http_{resp.status_code}", zh, en, extra, resp.status_code)


class CenterClient:
    """One method per API v1 call. Not shared between threads: give each its own.

    ``timeout`` is ``(connect, read)`` seconds or one number for both;
    ``upload_timeout`` is the read timeout for photo uploads (bigger bodies,
    the center re-runs the compliance checks). ``grants`` is where identify
    keeps the student's grant and upload ticket (kiosk/link/grants.py); the
    booth gives all its clients one book.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float | tuple[float, float] = (3.0, 15.0),
        upload_timeout: float | None = None,
        grants: GrantBook | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise KioskError(
                "config",
                *notices.words("config"),
                f"center.url must start with http:// or https://, got {base_url!r}",
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if isinstance(timeout, tuple) else (float(timeout), float(timeout))
        self.upload_timeout = (
            (self.timeout[0], float(upload_timeout)) if upload_timeout else self.timeout
        )
        self.grants = grants if grants is not None else GrantBook()
        self.session = requests.Session()
        self.session.trust_env = False  # never route loopback or booth traffic via env proxies
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = "diploma-kiosk"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CenterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        ref: str = "",
        timeout: tuple[float, float] | None = None,
        unreachable: str = UNREACHABLE,
        **kwargs: Any,
    ) -> Any:
        url = self.base_url + path
        start = time.monotonic()
        try:
            resp = self.session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.RequestException as exc:
            ms = (time.monotonic() - start) * 1000
            log.info("center %s %s %s: unreachable after %.0f ms (%s)", method, path, ref,
                     ms, type(exc).__name__)
            raise CenterUnreachable(f"{method} {path}: {type(exc).__name__}: {exc}",
                                    *notices.words(unreachable)) from None
        ms = (time.monotonic() - start) * 1000
        log.debug("center %s %s %s -> %d in %.0f ms", method, path, ref, resp.status_code, ms)
        if resp.status_code >= 400:
            refused = _refused_from(resp)
            if refused.retryable and refused.code.startswith("http_"):
                # No error body of ours: a proxy or a crashing center. Same as no answer.
                raise CenterUnreachable(f"{method} {path}: HTTP {resp.status_code}",
                                        *notices.words(unreachable))
            log.info("center %s %s %s refused: %d %s", method, path, ref, resp.status_code,
                     refused.code)
            raise refused
        if resp.status_code == 204 or not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            raise CenterUnreachable(f"{method} {path}: answer is not JSON", *notices.words(unreachable)) from None

    def _post(
        self, path: str, body: dict[str, Any], code: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        # The API answers JSON objects (center/openapi.json); the type says so to callers.
        answer: dict[str, Any] = self._call(
            "POST", API + path, json=body, ref=code_ref(code) if code else "", **kw
        )
        return answer

    def _granted(self, path: str, body: dict[str, Any], code: str) -> dict[str, Any]:
        """A call about ``code``'s order, with the grant identify got for it."""
        grant = self.grants.grant(code)
        headers = {GRANT_HEADER: grant} if grant else {}
        return self._post(path, body, code, headers=headers)

    # -- API v1 ----------------------------------------------------------
    def identify(
        self,
        collection_code: str,
        id_last4: str,
        feature_code: str | None = None,
        context: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``{student:{masked_name, school, level, major}, order, grant, upload_ticket}``.

        The grant and the upload ticket are kept in ``self.grants`` for this code.
        """
        body: dict[str, Any] = {"collection_code": collection_code, "id_last4": id_last4}
        if feature_code:
            body["feature_code"] = feature_code
        if context:
            body["context"] = context
        out = self._post("/identify", body, collection_code)
        grant = (out.get("grant") or {}).get("token") if isinstance(out, dict) else None
        ticket = (out.get("upload_ticket") or {}).get("token") if isinstance(out, dict) else None
        if grant:
            self.grants.put(collection_code, str(grant), str(ticket or ""))
        return out

    def end_grants(self) -> int:
        """The student's session ended: end every grant held, at the center and here.

        Best effort: a grant that cannot be ended (center unreachable) still
        expires on its own (``grants.session_minutes``).
        """
        ended = 0
        for grant in self.grants.take_all():
            try:
                self._call("POST", API + "/grants/end", json={},
                           headers={GRANT_HEADER: grant})
                ended += 1
            except (CenterUnreachable, CenterRefused) as exc:
                log.info("grant not ended at the center (%s); it expires on its own", exc.code)
        return ended

    def upload(
        self,
        collection_code: str,
        jpeg: bytes,
        idempotency_key: str,
        ticket: str | None = None,
    ) -> dict[str, Any]:
        """Upload one photo version; a replay of ``idempotency_key`` gets the same answer.

        ``ticket``: the upload ticket stored with the photo in the outbox; without
        it, the ticket or grant held for the code.
        """
        auth = ticket or self.grants.upload_ticket(collection_code) or self.grants.grant(
            collection_code)
        answer: dict[str, Any] = self._call(
            "POST",
            API + "/photos",
            ref=code_ref(collection_code),
            timeout=self.upload_timeout,
            unreachable=UPLOAD_UNREACHABLE,
            data={"collection_code": collection_code, "idempotency_key": idempotency_key},
            files={"photo": ("photo.jpg", jpeg, "image/jpeg")},
            headers={GRANT_HEADER: auth} if auth else {},
        )
        return answer

    def status(self, collection_code: str) -> dict[str, Any]:
        return self._granted("/orders/status", {"collection_code": collection_code},
                             collection_code)

    def withdraw(self, collection_code: str) -> dict[str, Any]:
        return self._granted("/orders/withdraw", {"collection_code": collection_code},
                             collection_code)

    def reprint(
        self,
        collection_code: str,
        layout: int | str,
        copies: int,
        delivery: str = "booth",
        address: str | None = None,
    ) -> dict[str, Any]:
        """``{reprint_no, state}``; ``delivery`` is ``booth`` or ``mail`` (then ``address``)."""
        body: dict[str, Any] = {
            "collection_code": collection_code,
            "layout": layout,
            "copies": copies,
            "delivery": delivery,
        }
        if address is not None:
            body["address"] = address
        return self._granted("/reprints", body, collection_code)

    def reprint_printed(self, reprint_no: str) -> dict[str, Any]:
        return self._post("/reprints/printed", {"reprint_no": reprint_no})

    def email(self, collection_code: str, name: str, email: str) -> dict[str, Any]:
        return self._granted("/email", {"collection_code": collection_code, "name": name,
                                        "email": email}, collection_code)

    def download_link(self, collection_code: str) -> dict[str, Any]:
        """``{url, expires_at}``; a relative ``url`` is made absolute against the center."""
        out = self._granted("/download-link", {"collection_code": collection_code},
                            collection_code)
        url = out.get("url", "")
        if isinstance(url, str) and url.startswith("/"):
            out["url"] = self.base_url + url
        return out

    def heartbeat(
        self,
        health: dict[str, Any],
        counters: dict[str, Any],
        outbox_depth: int,
        version: str,
    ) -> dict[str, Any]:
        return self._post("/heartbeat", {"health": health, "counters": counters,
                                         "outbox_depth": outbox_depth, "version": version})

    def keys(self) -> list[bytes]:
        """Raw Ed25519 public keys that verify batch/region poster QRs."""
        out = self._call("GET", API + "/keys")
        keys = out.get("context_public_keys", []) if isinstance(out, dict) else []
        raw = []
        for k in keys:
            try:  # urlsafe_b64decode also accepts the standard alphabet
                raw.append(base64.urlsafe_b64decode(k + "=" * (-len(k) % 4)))
            except (ValueError, TypeError):
                log.warning("center sent a public key that is not base64; ignored")
        return raw

    def healthz(self) -> bool:
        """True when the center answers ``/healthz``; never raises."""
        try:
            resp = self.session.get(self.base_url + "/healthz", timeout=self.timeout)
        except requests.RequestException:
            return False
        return resp.status_code == 200
