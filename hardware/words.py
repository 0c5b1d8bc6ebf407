"""The sentences a device's state is told in, from ``config/messages/devices.toml``.

Drivers report a stable code; the words for it are data, kept with the other
student- and operator-facing text, so a translator or an operator changes one
file and no code. ``hardware`` may not import ``kiosk``, so it reads the
release's message file itself (read-only data, not the booth's settings).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[1] / "config" / "messages" / "devices.toml"


@cache
def _catalogue() -> dict[str, dict[str, str]]:
    with CATALOGUE.open("rb") as fh:
        return tomllib.load(fh)


def words(code: str) -> tuple[str, str]:
    """``(zh, en)`` for a device code; a code without words is a bug, found by the tests."""
    entry = _catalogue()[code]
    return entry["zh"], entry["en"]
