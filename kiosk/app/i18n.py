"""Screen words as data: ``config/i18n/<lang>.toml``, looked up by key."""

from __future__ import annotations

import logging
import tomllib
from functools import cache
from typing import Any

from kiosk.paths import CONFIG_DIR

log = logging.getLogger(__name__)
LANGUAGES = ("zh", "en")


@cache
def table(lang: str) -> dict[str, str]:
    with (CONFIG_DIR / "i18n" / f"{lang}.toml").open("rb") as fh:
        return tomllib.load(fh)


def tr(key: str, lang: str = "zh", **params: Any) -> str:
    """The sentence for ``key``; a missing key shows itself (and is logged), never crashes."""
    text = table(lang).get(key) or table("zh").get(key)
    if text is None:
        log.warning("no text for %r", key)
        return key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def notice_text(notice: Any, lang: str) -> str:
    """A session ``Notice``: its own zh/en words, else its key's sentence."""
    if notice is None:
        return ""
    own = notice.zh if lang == "zh" else notice.en
    if own:
        return own
    return tr(notice.key, lang, **notice.params)
