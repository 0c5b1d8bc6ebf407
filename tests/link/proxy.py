"""A TCP proxy on loopback that can hold or cut a transfer at a chosen point.

Real HTTP goes through it unchanged unless told otherwise; it lets a test kill
the uploader at a known moment (request half sent, or the center already
answered but the answer not delivered) and counts upload requests, which the
center's idempotency would otherwise hide.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.hold_response = False  # forward requests, swallow the center's answers
        self.cut_request_after: int | None = None  # forward only this many request bytes
        self.response_seen = threading.Event()
        self.request_cut = threading.Event()
        self.uploads = 0
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            up.settimeout(None)
            with self._lock:
                self._conns += [client, up]
            threading.Thread(target=self._pump_request, args=(client, up), daemon=True).start()
            threading.Thread(target=self._pump_response, args=(up, client), daemon=True).start()

    def _pump_request(self, src: socket.socket, dst: socket.socket) -> None:
        sent, tail = 0, b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                window = tail + data
                with self._lock:
                    self.uploads += window.count(b"POST /api/v1/photos ")
                tail = data[-24:]
                if self.cut_request_after is not None:
                    room = self.cut_request_after - sent
                    if room <= 0:
                        self.request_cut.set()
                        continue  # swallow the rest: the transfer stalls here
                    data = data[:room]
                dst.sendall(data)
                sent += len(data)
                if self.cut_request_after is not None and sent >= self.cut_request_after:
                    self.request_cut.set()
        except OSError:
            pass
        finally:
            self._close_pair(src, dst)

    def _pump_response(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.hold_response:
                    self.response_seen.set()
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(src, dst)

    def _close_pair(self, a: socket.socket, b: socket.socket) -> None:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.close()
