"""The collection center inside the booth: a standalone kiosk needs no set-up.

When ``center.url`` is empty, ``kiosk run``/``kiosk demo`` start the real
center (``center.runner.ServerThread``) on loopback with SQLite and files in
``<state dir>/center``. On first start it loads the demo roster and issues this
kiosk a device token (kept in the state dir, mode 0600). Its URL is written to
``<state dir>/center/embedded.url`` so ``kiosk worker``, a separate process,
can find it; the URL file is removed on a clean stop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from durable import write_durable
from kiosk.link import token as tokens

log = logging.getLogger(__name__)

URL_FILE = Path("center") / "embedded.url"
KIOSK_NAME = "embedded-kiosk"


def embedded_url(state_dir: Path) -> str | None:
    """The running embedded center's base URL as last written, or None."""
    path = Path(state_dir) / URL_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return text or None


class EmbeddedCenter:
    """``start()``/``stop()``; ``base_url`` and ``token`` once started.

    ``port`` 0 picks a free port on first start and keeps it for restarts of
    the same object (a test can stop and restart the center and the kiosk's
    client still points at it). ``conf`` is the booth's parsed
    ``[center_server]`` table; ``overrides`` go on top of it, in the shape of
    center_server.toml.
    """

    def __init__(
        self,
        state_dir: str | Path,
        conf: Mapping[str, Any],
        port: int = 0,
        overrides: dict[str, Any] | None = None,
        seed_demo: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.data_dir = self.state_dir / "center"
        self.conf = conf
        self.port = port
        self.overrides = overrides or {}
        self.seed_demo = seed_demo
        self.server: Any = None
        self.token: str | None = None

    @property
    def base_url(self) -> str:
        if self.server is None:
            raise RuntimeError("embedded center not started")
        url: str = self.server.base_url
        return url

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self) -> EmbeddedCenter:
        from center.db import sqlite_url
        from center.runner import ServerThread
        from center.settings import CenterSettings

        if self.server is not None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings = CenterSettings.from_section(
            self.conf,
            data_dir=self.data_dir,
            db_url=sqlite_url(self.data_dir / "center.db"),  # embedded is always SQLite
            overrides=self.overrides,
        )
        server = self._bind(ServerThread, settings)
        server.start()
        self.server = server
        self.port = server.port
        try:
            if self.seed_demo:
                self._seed(server)
            self.token = self._kiosk_token(server)
            write_durable(self.state_dir / URL_FILE, server.base_url.encode("ascii"), mode=0o600)
        except BaseException:
            self.stop()
            raise
        log.info("embedded center on %s", server.base_url)
        return self

    def _bind(self, server_cls: Any, settings: Any) -> Any:
        """Bind the remembered port; right after a stop it may take a moment to free."""
        deadline = time.monotonic() + 5.0
        while True:
            try:
                return server_cls(settings, port=self.port)
            except OSError:
                if not self.port or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.server is None:
            return
        server, self.server = self.server, None
        (self.state_dir / URL_FILE).unlink(missing_ok=True)
        server.stop()

    def __enter__(self) -> EmbeddedCenter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- first start -------------------------------------------------------
    def _seed(self, server: Any) -> None:
        from center.demo import seed

        seed(server.db)  # loads the roster only into an empty database

    def _kiosk_token(self, server: Any) -> str:
        """This kiosk's token, issued by the center on first start and kept in the state dir."""
        stored = tokens.embedded_token(self.state_dir)
        if stored and server.center.authenticate(stored):
            return stored
        from center.admin import add_kiosk

        token = add_kiosk(server.db, KIOSK_NAME, actor="embedded")
        tokens.store_embedded_token(self.state_dir, token)
        return token

