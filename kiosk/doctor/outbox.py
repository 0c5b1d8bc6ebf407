"""Photos waiting for upload: how many, how old, and whether any were set aside."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from kiosk.doctor import FAIL, OK, WARN, CheckResult


def _status_read_only(path: Path) -> dict[str, Any]:
    """Counts without the Outbox class, for a user that does not own the file.

    ``Outbox()`` recovers and may create files; run as root, that would leave
    root-owned files the kiosk user can no longer write. So read-only here.
    """
    from kiosk.link import outbox_repair as repair

    uri = f"file:{path}?mode=ro"
    base = {"damaged_copies": [p.name for p in repair.damaged_copies(path)],
            "disk_full": repair.disk_full(path.parent)}
    try:
        try:
            db = sqlite3.connect(uri, uri=True, timeout=5)
            rows = db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall()
        except sqlite3.OperationalError:
            db = sqlite3.connect(f"file:{path}?immutable=1", uri=True, timeout=5)
            rows = db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall()
        db.close()
    except sqlite3.DatabaseError as exc:
        if not repair.is_damaged(exc):
            raise
        return base | {"damaged": f"{type(exc).__name__}: {exc}", "depth": 0, "parked": 0}
    counts = dict(rows)
    pending, parked = int(counts.get("pending", 0)), int(counts.get("parked", 0))
    return base | {"depth": pending + parked, "parked": parked, "oldest_age_s": None,
                   "last_error": None}


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The outbox's status, or None when nothing was ever queued on this booth.

    The owner opens it properly; anyone else (root over SSH) reads it read-only.
    """
    path = Path(state_dir) / "outbox" / "outbox.db"
    if not path.exists():
        return None
    if path.stat().st_uid != os.geteuid():
        return _status_read_only(path)
    from kiosk.link.outbox import Outbox

    box = Outbox(path, reader=True)  # sets a damaged database aside and rebuilds it
    try:
        return box.status()
    finally:
        box.close()


def _fault(status: dict[str, Any]) -> CheckResult | None:
    """The queue's database damaged or set aside, or its disk full: said before the backlog."""
    from kiosk import notices

    if status.get("damaged"):
        return CheckResult(
            "outbox", FAIL, f"the queue database is damaged ({status['damaged']})",
            "run `kiosk outbox status` as the kiosk user or `systemctl restart kiosk-worker`: "
            "the damaged file is set aside and the queue rebuilt from the photos on disk")
    if status.get("disk_full"):
        return CheckResult("outbox", FAIL, f"{status.get('depth', 0)} photo(s) waiting; disk full",
                           notices.operator_line("outbox_disk_full"))
    kept = status.get("damaged_copies") or []
    if kept:
        rebuilt = status.get("rebuilt") or {}
        detail = (notices.operator_line("outbox_rebuilt", **rebuilt) if rebuilt
                  else f"damaged queue database(s) set aside: {', '.join(kept)}")
        return CheckResult("outbox", WARN, f"{status.get('depth', 0)} photo(s) waiting; {detail}",
                           "every photo was adopted; the kept file holds collection codes: "
                           "give it only to the center's technician, then delete it")
    return None


def check(settings: Any) -> CheckResult:
    from kiosk.wiring import state_dir

    status = read_status(state_dir(settings))
    if status is None:
        return CheckResult("outbox", OK, "empty (no photo queued on this booth yet)")
    fault = _fault(status)
    if fault is not None:
        return fault
    depth, parked = int(status["depth"]), int(status.get("parked") or 0)
    age = status.get("oldest_age_s")
    detail = f"{depth} photo(s) waiting" + (f", oldest {age / 3600:.1f} h" if age else "")
    if parked:
        detail += f", {parked} set aside after errors"
    error = status.get("last_error")
    if error and depth:
        code = error.get("code") if isinstance(error, dict) else str(error)
        detail += f"; last error: {code}"
    warn_at = int(settings.get("doctor.outbox.warn_depth", 10))
    fail_at = int(settings.get("doctor.outbox.fail_depth", 100))
    hint = "check the center check above and `journalctl -u kiosk-worker`; `kiosk outbox status`"
    if depth >= fail_at:
        return CheckResult("outbox", FAIL, detail, hint)
    if depth >= warn_at or parked:
        return CheckResult("outbox", WARN, detail, hint)
    return CheckResult("outbox", OK, detail)
