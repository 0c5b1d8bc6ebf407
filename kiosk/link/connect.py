"""Build the booth's ``CenterClient`` from its settings (real center or embedded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.link.client import CenterClient, CenterUnreachable
from kiosk.link.embedded import embedded_url
from kiosk.link.token import load_token


def is_embedded(settings: Any) -> bool:
    return not str(settings.get("center.url") or "").strip()


def make_client(settings: Any, state_dir: Path | None = None) -> CenterClient:
    """A client for ``center.url``, or for the embedded center this booth runs.

    ``settings`` are the program's parsed settings (``kiosk.settings.Settings``);
    ``state_dir`` defaults to theirs. For the embedded center the URL comes from
    the file the running center wrote; if it is not running,
    ``CenterUnreachable`` (the worker retries).
    """
    from kiosk.wiring import state_dir as booth_state_dir

    base = Path(state_dir) if state_dir else booth_state_dir(settings)
    sec = settings.section("center")
    embedded = is_embedded(settings)
    if embedded:
        url = embedded_url(base)
        if not url:
            raise CenterUnreachable("embedded center is not running (no center/embedded.url)")
    else:
        url = str(sec["url"]).strip()
    token = load_token(str(sec["token_file"]), base, embedded=embedded)
    return CenterClient(
        url,
        token,
        timeout=(float(sec["connect_timeout_s"]), float(sec["read_timeout_s"])),
        upload_timeout=float(sec["upload_timeout_s"]),
    )
