"""The center on loopback inside another process (embedded center, tests).

``ServerThread(settings).start()`` binds a socket itself (port 0 picks a free
port), so the bound port is known before the first request, and runs
uvicorn in a daemon thread.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from center.app import create_app
from center.http_protocol import NoDelayH11Protocol, configure
from center.settings import CenterSettings


class ServerThread:
    def __init__(self, settings: CenterSettings, host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings = settings
        self.host = host
        configure(settings)
        self.app = create_app(settings)
        self.center = self.app.state.center
        self.db = self.center.db
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(1024)
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            http=NoDelayH11Protocol,
            lifespan="on",
            timeout_graceful_shutdown=5,
            timeout_keep_alive=int(settings.get("limits.keep_alive_seconds", 5)),
            forwarded_allow_ips=[str(a) for a in settings.get("trusted_proxies", ["127.0.0.1"])],
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerThread:
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self._sock]},
            name="center-server",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the center did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread:
            self._thread.join(timeout)
        self._sock.close()
        self.center.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
