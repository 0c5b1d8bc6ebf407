"""Student-facing sentences, kept as data in ``config/messages/photo.toml``."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from typing import Any

from kiosk.errors import ConfigError
from kiosk.paths import CONFIG_DIR

MESSAGES_PATH = CONFIG_DIR / "messages" / "photo.toml"


@lru_cache(maxsize=1)
def _messages() -> dict[str, Any]:
    try:
        with MESSAGES_PATH.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{MESSAGES_PATH}: {exc}") from None


def item_text(name: str, verdict: str, reason: str = "", **fmt: Any) -> tuple[str, str]:
    """(zh, en) for a report item: ``<verdict>_<reason>`` first, then ``<verdict>``."""
    table = _messages().get("items", {}).get(name)
    if table is None:
        raise ConfigError(f"{MESSAGES_PATH}: key 'items.{name}': missing")
    keys = ([f"{verdict}_{reason}"] if reason else []) + [verdict, "fail", "pass"]
    for key in keys:
        if f"{key}_zh" in table and f"{key}_en" in table:
            return (
                table[f"{key}_zh"].format_map(_Safe(fmt)),
                table[f"{key}_en"].format_map(_Safe(fmt)),
            )
    raise ConfigError(f"{MESSAGES_PATH}: key 'items.{name}.{verdict}_zh': missing")


def item_label(name: str) -> tuple[str, str]:
    table = _messages().get("items", {}).get(name, {})
    return table.get("label_zh", name), table.get("label_en", name)


def verdict_text(ok: bool, lang: str = "en") -> str:
    """The last line of a text report: the photo's verdict in ``lang`` (zh or en)."""
    table = _messages().get("verdict", {}).get("compliant" if ok else "not_compliant")
    if not table:
        raise ConfigError(f"{MESSAGES_PATH}: table 'verdict': missing")
    return str(table["zh" if lang == "zh" else "en"])


def guidance_text(code: str) -> tuple[str, str]:
    table = _messages().get("guidance", {}).get(code)
    if not table:
        raise ConfigError(f"{MESSAGES_PATH}: key 'guidance.{code}': missing")
    return table["zh"], table["en"]


def guidance_texts() -> list[tuple[str, str]]:
    """Every guidance instruction (zh, en), for screens that prepare them in advance."""
    return [(t["zh"], t["en"]) for t in _messages().get("guidance", {}).values()]


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
