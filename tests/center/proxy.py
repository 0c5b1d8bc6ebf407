"""A small TCP proxy in front of several center hosts, as nginx would stand there.

Each new client connection goes to the next backend in turn (round robin);
a backend that refuses the connection is skipped (fail-over). ``served``
counts connections per backend, so a test can see both hosts answered.

For fault tests, ``plan()`` shapes the next connection: pin it to one backend,
forward only the first N bytes of the request (the host then holds a half
upload), or hold back the host's answer (the host committed, the kiosk never
hears it). ``held`` is set when the connection reached that point; when the
host dies, the client's connection is closed, as a proxy does.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass


@dataclass
class Plan:
    backend: int
    request_bytes: int | None = None  # forward at most this much of the request
    hold_answer: bool = False  # read the backend's answer but never pass it on


class Proxy:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.served = [0] * len(backends)
        self.held = threading.Event()
        self._next = 0
        self._plan: Plan | None = None
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self._sock.close()

    def plan(self, plan: Plan) -> None:
        with self._lock:
            self._plan = plan
            self.held.clear()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _connect(self) -> tuple[socket.socket, int, Plan | None] | None:
        with self._lock:
            plan, self._plan = self._plan, None
            first = plan.backend if plan is not None else self._next
            self._next = (first + 1) % len(self.backends)
        for step in range(len(self.backends)):
            index = (first + step) % len(self.backends)
            try:
                upstream = socket.create_connection(self.backends[index], timeout=2)
            except OSError:
                continue  # that host is down: the next one
            upstream.settimeout(None)
            with self._lock:
                self.served[index] += 1
            return upstream, index, plan if step == 0 else None
        return None

    def _serve(self, client: socket.socket) -> None:
        found = self._connect()
        if found is None:
            client.close()
            return
        upstream, _index, plan = found
        limit = plan.request_bytes if plan else None
        hold = bool(plan and plan.hold_answer)
        up = threading.Thread(target=self._pipe_up, args=(client, upstream, limit), daemon=True)
        up.start()
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if hold:
                    self.held.set()  # the host answered; the kiosk will never know
                    continue
                client.sendall(data)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _pipe_up(self, client: socket.socket, upstream: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                if limit is not None and sent >= limit:
                    self.held.set()  # the host holds a part of the request, waiting for more
                    return
                data = client.recv(65536 if limit is None else min(65536, limit - sent))
                if not data:
                    upstream.shutdown(socket.SHUT_WR)
                    return
                upstream.sendall(data)
                sent += len(data)
        except OSError:
            return
