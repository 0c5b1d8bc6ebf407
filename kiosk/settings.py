"""The booth's configuration: documented defaults in ``config/defaults/``, overrides on top.

Every key that exists is in ``config/defaults/<section>.toml`` with a comment
saying what it does, so those files double as the documentation of
``/etc/kiosk/kiosk.toml``. An override may only set keys that exist there, with
the same type; anything else is an error that names the file, line and key,
because a typo in a booth's config must stop the start, not be ignored.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError
from kiosk.paths import CONFIG_DIR

DEFAULTS_DIR = CONFIG_DIR / "defaults"
SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")


def config_files() -> list[Path]:
    """Override files in the order they apply (later wins)."""
    env = os.environ.get("KIOSK_CONFIG")
    main = Path(env) if env else SYSTEM_CONFIG
    files = [main] if main.exists() else []
    drop_in = Path(str(main) + ".d")
    if drop_in.is_dir():
        files += sorted(drop_in.glob("*.toml"))
    return files


def load_defaults() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(DEFAULTS_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            out[path.stem] = tomllib.load(fh)
    return out


def _line_of(text: str, key: str, section: str) -> int:
    """Best-effort line number of ``key`` (inside ``[section]`` when present)."""
    lines = text.splitlines()
    start = 0
    for i, line in enumerate(lines):
        if re.match(rf"\s*\[\s*{re.escape(section)}\s*\]", line):
            start = i
            break
    for i in range(start, len(lines)):
        if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", lines[i]):
            return i + 1
    for i, line in enumerate(lines):
        if key in line:
            return i + 1
    return 0


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _merge(base: dict[str, Any], over: dict[str, Any], where: str, text: str, dotted: str,
           origin: dict[str, str]) -> None:
    section = dotted.split(".")[0] if dotted else ""
    for key, value in over.items():
        name = f"{dotted}.{key}" if dotted else key
        origin[name] = f"{where}:{_line_of(text, key, section or key)}"
        if key not in base:
            line = _line_of(text, key, section or key)
            raise ConfigError(f"{where}:{line}: unknown key '{name}'")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                line = _line_of(text, key, section)
                raise ConfigError(f"{where}:{line}: '{name}' must be a table")
            # Tables whose defaults are empty are open maps (e.g. per-model data).
            if not default:
                base[key] = value
            else:
                _merge(default, value, where, text, name, origin)
            continue
        if not _same_type(default, value):
            line = _line_of(text, key, section)
            raise ConfigError(
                f"{where}:{line}: '{name}' must be {type(default).__name__}, "
                f"got {type(value).__name__} {value!r}"
            )
        base[key] = value


@dataclass(frozen=True)
class Settings:
    data: dict[str, dict[str, Any]]
    files: tuple[Path, ...]

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.data.get(name, {}))


def _validate(data: dict[str, Any], origin: dict[str, str]) -> None:
    """Types, ranges and choices (``kiosk.settings_schema``), named by file:line and key."""
    from pydantic import ValidationError

    from kiosk.settings_schema import KioskSettings

    try:
        KioskSettings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = [str(p) for p in err["loc"]]
        # A rule across keys (a table's or the whole file's) names its keys in
        # the message: point at the one a file set.
        words = re.findall(r"[a-z_]+(?:\.[a-z_]+)*", err["msg"])
        named = [".".join(loc + [w]) for w in words] + words
        name = next((n for n in named if n in origin), ".".join(loc))
        parts = name.split(".")
        where = next((origin[".".join(parts[:n])] for n in range(len(parts), 0, -1)
                      if ".".join(parts[:n]) in origin), None)
        if where is None:
            section = parts[0]
            line = _line_of(_read(section), parts[-1], section)
            where = f"{DEFAULTS_DIR / (section + '.toml')}:{line}"
        value = f", got {err['input']!r}" if not isinstance(err.get("input"), dict) else ""
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{where}: '{name}': {err['msg']}{value}{more}") from None


def _read(section: str) -> str:
    path = DEFAULTS_DIR / f"{section}.toml"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def parse_settings(files: list[Path]) -> Settings:
    data = load_defaults()
    origin: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            over = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        _merge(data, over, str(path), text, "", origin)
    _validate(data, origin)
    return Settings(data, tuple(files))


_cache: dict[tuple, Settings] = {}


def load_settings() -> Settings:
    """Settings for this process, re-read only when a file changed."""
    files = config_files()
    key = tuple((str(f), f.stat().st_mtime_ns) for f in files) + (str(DEFAULTS_DIR),)
    if key not in _cache:
        _cache.clear()
        _cache[key] = parse_settings(files)
    return _cache[key]

