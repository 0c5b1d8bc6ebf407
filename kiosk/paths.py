"""Where things live: the repository's data and the booth's state directory."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("KIOSK_CONFIG_DIR", ROOT / "config"))
SHARED_DIR = ROOT.parent / "shared"
PORTRAITS_DIR = Path(os.environ.get("KIOSK_PORTRAITS", SHARED_DIR / "testdata" / "portraits"))


def state_dir(configured: str | Path | None = None) -> Path:
    """The booth's writable state (outbox, photos, print journal, embedded center).

    ``KIOSK_STATE_DIR`` wins (tests and systemd's ``StateDirectory=``), then
    ``configured`` (the caller's ``paths.state_dir`` setting: this module reads no
    settings, so ``kiosk.settings`` can use it without a cycle), then
    ``$XDG_STATE_HOME/kiosk``.
    """
    env = os.environ.get("KIOSK_STATE_DIR") or os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "kiosk"


def cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("KIOSK_CACHE_DIR", Path(xdg) / "kiosk"))
