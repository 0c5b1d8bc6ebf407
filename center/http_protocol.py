"""uvicorn's h11 protocol with TCP_NODELAY, a header timeout and a connection cap.

TCP_NODELAY: uvicorn writes a response's head and body in two writes; without
it on sockets uvicorn did not create itself, Nagle's algorithm holds the body
until the client's delayed ACK (about 40 ms). Measured: 42 ms → 0.4 ms per
request on loopback.

Header timeout: uvicorn waits forever for the headers of a request (its
keep-alive timer only runs between requests and stops at the first byte), so
20,000 half-sent headers used to hold 20,000 file handles. Here a connection
that has not finished a request's headers ``header_timeout`` seconds after it
opened (or after its previous response) is closed.

Connection cap: at ``max_connections`` open connections (per process, kept
below the file limit), a new connection first closes the oldest connections
that are waiting for headers; when every connection is busy with a request,
the new one is closed. So idle and half-open connections can never keep
``/healthz`` or a kiosk out.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

# Set by configure() (ServerThread, `kiosk center serve`, worker processes).
HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 2000


def raise_file_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def configure(settings: Any) -> None:
    """Timeouts and the cap from ``[center_server.limits]``; the cap fits the file limit."""
    global HEADER_TIMEOUT, MAX_CONNECTIONS
    HEADER_TIMEOUT = float(settings.get("limits.header_timeout_seconds", 10.0))
    files = raise_file_limit()
    # leave room for the database, photo files, the check worker and the log
    MAX_CONNECTIONS = max(8, min(int(settings.get("limits.max_connections", 2000)), files - 200))


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._waiting_since = time.monotonic()
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        if not self._make_room():
            transport.close()
            return
        self._arm_header_timer()

    # -- waiting for a request's headers ---------------------------------------
    def _waiting_for_headers(self) -> bool:
        cycle = getattr(self, "cycle", None)
        return cycle is None or cycle.response_complete

    def _arm_header_timer(self) -> None:
        if self._header_timer is None and self._waiting_for_headers():
            self._waiting_since = time.monotonic()
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._header_timeout)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_headers():
            self._arm_header_timer()
        else:
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm_header_timer()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    # -- the cap -----------------------------------------------------------------
    def _make_room(self) -> bool:
        """True when this connection may stay (closing the oldest idle ones if needed)."""
        connections = self.connections
        excess = len(connections) - MAX_CONNECTIONS
        if excess <= 0:
            return True
        idle = sorted(
            (
                c
                for c in connections
                if c is not self
                and isinstance(c, NoDelayH11Protocol)
                and c._waiting_for_headers()
                and not c.transport.is_closing()
            ),
            key=lambda c: c._waiting_since,
        )
        for conn in idle[:excess]:
            conn.transport.close()
            conn._disarm_header_timer()
            connections.discard(conn)
        return len(connections) <= MAX_CONNECTIONS
