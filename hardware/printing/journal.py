"""Submitted print jobs remembered on disk: a restart neither loses nor doubles a print.

Each entry is keyed by the caller's key (a reprint order number). The entry is
written as ``submitting`` *before* the job goes to CUPS and as ``submitted``
with the CUPS job id right after, so a crash between the two is found again
by the job's title (``kiosk:<key>``) instead of printing twice.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from durable import write_durable

ACTIVE = ("submitting", "submitted")
KEEP = 500  # finished entries kept for look-ups after a restart


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged journal must not stop printing; keep it for the technician.
            self.path.replace(self.path.with_suffix(f".damaged-{int(time.time())}"))
            return {}
        return dict(data.get("jobs", {}))

    def _write(self, jobs: dict[str, dict[str, Any]]) -> None:
        done = sorted(
            (k for k, v in jobs.items() if v.get("state") not in ACTIVE),
            key=lambda k: jobs[k].get("updated", 0),
        )
        for key in done[: max(0, len(done) - KEEP)]:
            del jobs[key]
        payload = json.dumps({"version": 1, "jobs": jobs}, ensure_ascii=False, indent=1)
        write_durable(self.path, payload.encode("utf-8"), mode=0o600)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._read().get(key)
            return dict(entry) if entry else None

    def entries(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return self._read()

    def update(self, key: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            jobs = self._read()
            entry = {**jobs.get(key, {}), **fields, "updated": time.time()}
            jobs[key] = entry
            self._write(jobs)
            return dict(entry)

    def key_of(self, job_id: int) -> str | None:
        for key, entry in self.entries().items():
            if entry.get("job_id") == job_id:
                return key
        return None

    def active(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.entries().items() if v.get("state") in ACTIVE}
