"""Durable file writes: a student's photo, a print journal must survive a power cut.

A package of its own, outside ``kiosk`` and ``hardware``, because both need it and
``hardware`` may import nothing of ``kiosk``; it imports nothing but the standard
library, so the center, the photo pipeline and the drivers can all use it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_durable(path: str | os.PathLike[str], data: bytes, mode: int = 0o640) -> Path:
    """Write ``data`` atomically: temp file, fsync, rename, fsync the directory.

    A reader sees either the old file or the whole new one, never a torn file.
    A full disk raises ``OSError`` and leaves no partial file behind.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target
