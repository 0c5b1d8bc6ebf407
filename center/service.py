"""The running center's shared parts: database, keys, caches and background workers."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select

from center import schema as t
from center.checks import CheckRunner
from center.db import Database
from center.identify import Limits
from center.keys import db_secret, load_or_create_signing_key, public_key_b64
from center.mailer import Mailer
from center.security import TokenCache, split_token, verify_secret
from center.settings import CenterSettings
from center.storage import open_store

log = logging.getLogger("center")


class Center:
    def __init__(self, settings: CenterSettings, migrate: bool = True) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.photos_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.db_url, pool_size=int(settings.get("api_threads", 60)) // 2)
        if migrate:
            self.db.migrate()
        self.signing_key = load_or_create_signing_key(settings.data_dir)
        self.public_keys = [public_key_b64(self.signing_key)]
        self.link_secret = db_secret(self.db, "download_link")
        self.session_secret = db_secret(self.db, "console_session")
        self.limits = Limits.from_conf(settings.get("identify"))
        self.tokens = TokenCache()
        self._bad_tokens: dict[int, list[float]] = {}  # kiosk id -> recent failed verifications
        self.store = open_store(settings, self.db)  # photo bytes (center/storage)
        self.mailer = Mailer(self.db, self.store, settings.get("smtp"))
        self.checks = CheckRunner(
            self.db,
            self.store,
            int(settings.get("upload.check_workers", 1)),
            quiet_seconds=float(settings.get("upload.check_quiet_seconds", 0.5)),
            max_defer_seconds=float(settings.get("upload.check_max_defer_seconds", 30)),
        )

    def start(self) -> None:
        self.db.start_checkpointer()
        self.mailer.start()
        self.checks.start()

    def stop(self) -> None:
        self.mailer.stop()
        self.checks.stop()
        self.db.stop_checkpointer()

    def close(self) -> None:
        self.store.close()
        self.db.dispose()

    def authenticate(self, token: str) -> tuple[int, str] | None:
        """(kiosk id, name) for a valid, enabled device token."""
        hit, kiosk = self.tokens.get(token)
        if hit:
            return kiosk
        parts = split_token(token)
        kiosk = None
        if parts and self._throttled(parts[0]):
            return None  # many forged tokens for this id: no scrypt for a minute
        if parts:
            with self.db.read() as conn:
                row = conn.execute(
                    select(
                        t.kiosks.c.id, t.kiosks.c.name, t.kiosks.c.token_hash, t.kiosks.c.disabled
                    ).where(t.kiosks.c.id == parts[0])
                ).first()
            if row is not None and not row.disabled and verify_secret(token, row.token_hash):
                kiosk = (row.id, row.name)
        self.tokens.put(token, kiosk)
        if parts and kiosk is None:
            self._bad_tokens.setdefault(parts[0], []).append(time.monotonic())
        return kiosk

    def _throttled(self, kiosk_id: int, limit: int = 10, window: float = 60.0) -> bool:
        """Each wrong token costs a scrypt; cap that per kiosk id so forging is no DoS."""
        now = time.monotonic()
        recent = [t for t in self._bad_tokens.get(kiosk_id, []) if now - t < window]
        if recent:
            self._bad_tokens[kiosk_id] = recent
        else:
            self._bad_tokens.pop(kiosk_id, None)
        return len(recent) >= limit

    def conf(self, dotted: str, default: Any = None) -> Any:
        return self.settings.get(dotted, default)
