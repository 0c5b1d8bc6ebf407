"""Keep personal data out of logs: collection codes, names and ID digits.

A log line may need to tie events of one student together, so codes are
replaced by a short, stable, non-reversible reference instead of being dropped.
"""

from __future__ import annotations

import hashlib
import re


def code_ref(code: str | bytes | None) -> str:
    """A short stable reference for a collection code: ``c:1a2b3c`` (never the code)."""
    if not code:
        return "c:-"
    raw = code if isinstance(code, bytes) else code.encode("utf-8", "replace")
    return "c:" + hashlib.sha256(b"kiosk-log:" + raw).hexdigest()[:8]


def mask_name(name: str) -> str:
    """吴小明 -> 吴**, the form the center's app shows."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-]{12,}")


def _is_opaque(token: str) -> bool:
    """Codes and ID numbers carry digits or are all capitals; prose words do neither.

    Replacing every long run also replaced words such as "configuration" or
    "unavailable", which made a doctor line unreadable.
    """
    return any(ch.isdigit() for ch in token) or token.isupper()


def scrub(text: str) -> str:
    """Replace long opaque tokens (codes, ID-like strings) in free text by references."""
    return _LONG_TOKEN.sub(
        lambda m: code_ref(m.group(0)) if _is_opaque(m.group(0)) else m.group(0), text)
