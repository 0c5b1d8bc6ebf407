"""The center's settings: the ``[center_server]`` section plus per-run overrides.

The program that parsed the settings (``kiosk center ...``, or the booth that
runs the embedded center) hands the ``[center_server]`` table over, with the
data directory and the database URL; this module reads no file itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class CenterSettings:
    data_dir: Path
    db_url: str
    conf: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_section(
        cls,
        section: Mapping[str, Any],
        data_dir: str | Path | None = None,
        db_url: str | None = None,
        overrides: dict[str, Any] | None = None,
        state_dir: str | Path | None = None,
    ) -> CenterSettings:
        """Settings from the parsed ``[center_server]`` table; arguments win over it.

        ``overrides`` is a nested dict in the shape of center_server.toml, e.g.
        ``{"smtp": {"port": 2525}, "upload": {"check_workers": 0}}``. The data
        directory: ``data_dir``, else the table's ``data_dir``, else
        ``<state_dir>/center``.
        """
        conf = _merge(dict(section), overrides or {})
        if data_dir is None:
            if conf.get("data_dir"):
                data_dir = conf["data_dir"]
            elif state_dir is not None:
                data_dir = Path(state_dir) / "center"
            else:
                raise ValueError("no data directory: pass data_dir or state_dir, "
                                 "or set center_server.data_dir")
        data_dir = Path(data_dir)
        url = db_url or conf.get("db_url") or ""
        if not url:
            from center.db import sqlite_url

            url = sqlite_url(data_dir / "center.db")
        return cls(data_dir=data_dir, db_url=url, conf=conf)

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.conf
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def secrets_dir(self) -> Path:
        """Link/session secrets and the poster key, apart from the data (secret_files.py)."""
        configured = str(self.conf.get("secrets_dir") or "").strip()
        return Path(configured) if configured else self.data_dir / "secrets"

    def to_json(self) -> str:
        """For worker processes (uvicorn --workers), which rebuild settings from env."""
        return json.dumps(
            {"data_dir": str(self.data_dir), "db_url": self.db_url, "conf": self.conf}
        )

    @classmethod
    def from_json(cls, text: str) -> CenterSettings:
        raw = json.loads(text)
        return cls(data_dir=Path(raw["data_dir"]), db_url=raw["db_url"], conf=raw["conf"])
