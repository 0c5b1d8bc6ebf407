"""Where the booth's device token comes from — never the main config file.

The main config is world-readable and often copied around; the token is the
booth's only credential. Order of precedence:
1. ``$CREDENTIALS_DIRECTORY/kiosk-token`` — systemd ``LoadCredential=``, which
   reads a root-only file and hands it to the service without the service user
   being able to read the original;
2. the file named by ``center.token_file`` (default ``/etc/kiosk/device-token``),
   which must not be readable by group or others;
3. for the embedded center (``center.url`` empty) instead: the token the
   embedded center issued to this kiosk on first start, kept in the state dir
   (``center/kiosk-token``, mode 0600).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from durable import write_durable
from kiosk import notices
from kiosk.errors import KioskError

CREDENTIAL_NAME = "kiosk-token"
EMBEDDED_TOKEN = Path("center") / "kiosk-token"


def _no_token(detail: str) -> KioskError:
    return KioskError(
        "no_device_token",
        *notices.words("no_device_token"),
        detail,
    )


def _read_token(path: Path, check_mode: bool) -> str:
    if check_mode:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise _no_token(
                f"{path} is readable by group or others (mode {stat.S_IMODE(mode):o}); "
                "chmod 600 it (or 400, owned by root, and use LoadCredential=)"
            )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise _no_token(f"{path} is empty")
    return token


def credential_token() -> str | None:
    """The systemd credential, if the service was started with one."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if not creds:
        return None
    path = Path(creds) / CREDENTIAL_NAME
    if not path.is_file():
        return None
    return _read_token(path, check_mode=False)  # systemd already made it private


def embedded_token(state_dir: Path) -> str | None:
    """This kiosk's token for the embedded center, once ``EmbeddedCenter`` registered it."""
    path = Path(state_dir) / EMBEDDED_TOKEN
    if not path.is_file():
        return None
    return _read_token(path, check_mode=True)


def store_embedded_token(state_dir: Path, token: str) -> Path:
    """Keep the token the embedded center issued (mode 0600, durable)."""
    return write_durable(Path(state_dir) / EMBEDDED_TOKEN, token.encode("ascii"), mode=0o600)


def load_token(token_file: str, state_dir: Path | None = None, embedded: bool = False) -> str:
    """The device token for the configured center.

    ``embedded`` (``center.url`` empty): the state dir's generated token, the
    one ``EmbeddedCenter`` registers; credentials are for a real center.
    """
    if embedded:
        token = embedded_token(state_dir) if state_dir is not None else None
        if not token:
            raise _no_token("the embedded center has not registered this kiosk yet "
                            "(start `kiosk run` or `kiosk demo` once)")
        return token
    token = credential_token()
    if token:
        return token
    if token_file:
        path = Path(token_file)
        if path.is_file():
            return _read_token(path, check_mode=True)
        if path.exists():
            raise _no_token(f"{path} is not a regular file")
    raise _no_token(
        f"no ${{CREDENTIALS_DIRECTORY}}/{CREDENTIAL_NAME} and no token file at "
        f"{token_file or '(center.token_file empty)'}"
    )
