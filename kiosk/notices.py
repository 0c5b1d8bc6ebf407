"""Words for faults and hostile inputs, kept as data in ``config/messages/faults.toml``.

The student reads a short Chinese sentence that says what to do; the operator
reads the ``operator`` line with its details filled in. Both live in TOML so a
school can change the wording without touching code.
"""

from __future__ import annotations

from typing import Any

from kiosk.errors import ConfigError, KioskError
from kiosk.words import MESSAGES_DIR, catalogue

FAULTS_PATH = MESSAGES_DIR / "faults.toml"


def _table() -> dict[str, Any]:
    return catalogue("faults")


def words(code: str) -> tuple[str, str]:
    """(zh, en) for the student."""
    entry = _table().get(code)
    if not entry or "zh" not in entry or "en" not in entry:
        raise ConfigError(f"{FAULTS_PATH}: key '{code}.zh'/'{code}.en': missing")
    return entry["zh"], entry["en"]


def operator_line(code: str, **fmt: Any) -> str:
    """The operator's one-line explanation, with ``fmt`` filled in."""
    entry = _table().get(code) or {}
    text = entry.get("operator") or entry.get("en") or code
    try:
        return str(text).format(**fmt)
    except (KeyError, IndexError, ValueError):
        return str(text)


def error(code: str, detail: str = "") -> KioskError:
    """A ``KioskError`` carrying the words for ``code``."""
    zh, en = words(code)
    return KioskError(code, zh, en, detail)
