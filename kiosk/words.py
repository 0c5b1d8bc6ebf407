"""Student- and operator-facing sentences, kept as data in ``config/messages/<name>.toml``.

Words are data so that a translator or an operator changes one file and no
code; a missing file is a broken release and says so by its path.
"""

from __future__ import annotations

import tomllib
from functools import cache
from typing import Any

from kiosk.errors import ConfigError
from kiosk.paths import CONFIG_DIR

MESSAGES_DIR = CONFIG_DIR / "messages"


@cache
def catalogue(name: str) -> dict[str, Any]:
    path = MESSAGES_DIR / f"{name}.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
