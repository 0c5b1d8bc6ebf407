"""What the center says, kept as data in ``config/messages/center.toml``.

A student reads the zh/en of an API error on the kiosk; reviewers and
administrators read the console's zh. The words are data so that a school
changes one file and no code; a key without words is a broken release and says
so by its path (and tests/test_words_in_data.py finds it first).
"""

from __future__ import annotations

from typing import Any

from kiosk.errors import ConfigError
from kiosk.words import MESSAGES_DIR, catalogue

CENTER_WORDS = MESSAGES_DIR / "center.toml"


def _entry(key: str, lang: str) -> str:
    entry = catalogue("center").get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get(lang), str):
        raise ConfigError(f"{CENTER_WORDS}: key '{key}.{lang}': missing")
    return str(entry[lang])


class _Kept(dict[str, Any]):
    """A field the caller did not give stays as ``{name}``: a visible slip, not a 500."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def said(key: str, **fmt: Any) -> tuple[str, str]:
    """``(zh, en)`` for ``key`` with ``fmt`` filled in: an API error's two sentences."""
    return _entry(key, "zh").format_map(_Kept(fmt)), _entry(key, "en").format_map(_Kept(fmt))


def said_zh(key: str, **fmt: Any) -> str:
    """The Chinese for ``key`` with ``fmt`` filled in: what the console shows."""
    return _entry(key, "zh").format_map(_Kept(fmt))
