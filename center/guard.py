"""The gate in front of every request: authenticate first, then read a bounded body.

FastAPI reads (and spools to disk) a request's whole body before any
dependency runs, so a token check in a dependency comes too late: 2 GB of
multipart without a token used to be spooled before the 401, and chunked
bodies (no Content-Length) skipped the size check. This plain ASGI middleware
runs before FastAPI:

- ``/api/v1/*`` needs a valid device token in the headers; without one the
  answer is 401 before a byte of the body is read (the kiosk is put in
  ``scope["state"]["kiosk"]`` for the handlers);
- every body is counted as it arrives, whatever its framing: over the cap of
  its path it is cut off with 413 (``Content-Length`` over the cap: at once);
- a body that stalls longer than ``body_idle_seconds`` between chunks ends
  with 408, so slow senders cannot hold a worker thread.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from center.errors import ApiError, unauthorized
from center.words import said

log = logging.getLogger("center.guard")

API_PREFIX = "/api/v1/"


class Caps:
    """Body caps by path (bytes)."""

    def __init__(self, photo: int, roster: int, default: int) -> None:
        self.photo = photo
        self.roster = roster
        self.default = default

    def for_path(self, path: str) -> int:
        if path == "/api/v1/photos":
            return self.photo
        if path == "/console/roster":
            return self.roster
        return self.default


def too_large() -> ApiError:
    return ApiError(413, "too_large", *said("too_large"))


def too_slow() -> ApiError:
    return ApiError(408, "too_slow", *said("too_slow"))


class _Cut(Exception):
    """The body broke a limit; the guard answers instead of the app."""


class Guard:
    def __init__(self, app: Any, center: Any, caps: Caps, body_idle_seconds: float) -> None:
        self.app = app
        self.center = center
        self.caps = caps
        self.idle = body_idle_seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        if path.startswith(API_PREFIX):
            kiosk = await self._authenticate(headers.get(b"authorization", b""))
            if kiosk is None:
                await _answer(scope, receive, send, unauthorized(), close=True)
                return
            scope.setdefault("state", {})["kiosk"] = kiosk
        cap = self.caps.for_path(path)
        length = headers.get(b"content-length", b"")
        if length and (not length.isdigit() or len(length) > 15 or int(length) > cap):
            await _answer(scope, receive, send, too_large(), close=True)
            return

        seen = 0
        cut: ApiError | None = None
        started = False

        async def guarded_receive() -> dict[str, Any]:
            nonlocal seen, cut
            if cut is not None:
                return {"type": "http.disconnect"}
            message = None
            with anyio.move_on_after(self.idle):
                message = await receive()
            if message is None:
                cut = too_slow()
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    cut = too_large()
                    return {"type": "http.disconnect"}
            got: dict[str, Any] = message
            return got

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if cut is not None and not started:
                return  # the app's answer to the cut body is replaced by ours
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if cut is None:
                raise
        if cut is not None and not started:
            await _answer(scope, receive, send, cut, close=True)

    async def _authenticate(self, header: bytes) -> tuple[int, str] | None:
        scheme, _, token = header.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            return None
        return await run_in_threadpool(self.center.authenticate, token)


async def _answer(scope: dict[str, Any], receive: Any, send: Any, error: ApiError, close: bool) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if close:
        headers["Connection"] = "close"  # the unread body is never read: drop the connection
    response = JSONResponse(error.body(), status_code=error.status, headers=headers)
    await response(scope, receive, send)
