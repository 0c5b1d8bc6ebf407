"""The demo's data, read from ``config/demo/`` (roster, batch and region, scenario words).

The scenarios take names and reasons from here instead of spelling them in code,
so the words live in one place and the checks follow the data.
"""

from __future__ import annotations

import csv
import tomllib
from functools import cache
from typing import Any

from kiosk.paths import CONFIG_DIR
from kiosk.session import BoothContext

DEMO_DIR = CONFIG_DIR / "demo"


@cache
def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


def scenario(section: str) -> dict[str, Any]:
    """A table of ``config/demo/scenarios.toml``."""
    return dict(_toml("scenarios.toml")[section])


def context(kind: str, ident: str) -> BoothContext:
    """The demo batch or region ``ident`` as the booth knows it."""
    for row in _toml("contexts.toml").get(kind, []):
        if row["id"] == ident:
            return BoothContext(kind, row["id"], row["name"], kind == "batch")
    raise KeyError(f"no demo {kind} {ident!r} in {DEMO_DIR / 'contexts.toml'}")


@cache
def student_name(code: str) -> str:
    """The roster name of the student with collection code ``code``."""
    with (DEMO_DIR / "roster.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["collection_code"] == code:
                return row["name"]
    raise KeyError(f"no demo student with that code in {DEMO_DIR / 'roster.csv'}")
