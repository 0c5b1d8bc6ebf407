"""The booth's batch or region, kept in the state folder so a restart keeps it.

The session decides when the context changes (an operator scans a signed poster)
and asks its ports to keep it; the app reads it back once at start.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from durable import write_durable
from kiosk.session.model import BoothContext

log = logging.getLogger(__name__)
CONTEXT_FILE = "booth-context.json"


def load_context(state_dir: Path) -> BoothContext | None:
    """The context kept by an earlier run, or None (none kept, or unreadable)."""
    try:
        d = json.loads((Path(state_dir) / CONTEXT_FILE).read_text())
        return BoothContext(d["kind"], d["id"], d.get("name", ""), bool(d.get("feature_required")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def keep_context(state_dir: Path, ctx: BoothContext) -> threading.Thread:
    """Write the context durably in a thread of its own (never on the UI thread)."""
    data = json.dumps({"kind": ctx.kind, "id": ctx.id, "name": ctx.name,
                       "feature_required": ctx.feature_required}, ensure_ascii=False).encode()

    def write() -> None:
        try:
            write_durable(Path(state_dir) / CONTEXT_FILE, data)
        except OSError as exc:  # a full disk: the booth keeps the context until restart
            log.warning("booth context not kept: %s", exc)

    thread = threading.Thread(target=write, name="keep-context", daemon=True)
    thread.start()
    return thread
