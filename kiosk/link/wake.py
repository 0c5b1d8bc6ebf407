"""Wake sleeping upload workers the moment a photo is queued, across processes.

The screen (which enqueues) and ``kiosk worker`` (which drains) are separate
processes, so an in-process Event is not enough, and polling would either
delay uploads or burn the booth's CPU. Each waiting worker binds a Unix
datagram socket in ``<outbox>/wake/``; ``notify`` sends one byte to each.
A socket whose worker died refuses the datagram and is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import select
import socket
from pathlib import Path

MAX_SUN_PATH = 100  # sockaddr_un holds 108 bytes; keep a margin


class Waker:
    """A worker's wake-up socket. ``wait(timeout)`` returns True when woken."""

    def __init__(self, wake_dir: Path) -> None:
        self.dir = Path(wake_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"w{os.getpid()}-{secrets.token_hex(3)}.sock"
        self.sock: socket.socket | None = None
        self._r = self._w = -1
        self.closed = False
        if len(os.fsencode(self.path)) < MAX_SUN_PATH:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(str(self.path))
                sock.setblocking(False)
                self.sock = sock
            except OSError:
                sock.close()
        if self.sock is None:
            # Path too long or no Unix sockets: the worker falls back to its idle cap.
            self._r, self._w = os.pipe()
            os.set_blocking(self._r, False)

    def _fd(self) -> int:
        return self.sock.fileno() if self.sock else self._r

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` s; True if someone called ``notify``/``wake``."""
        ready, _, _ = select.select([self._fd()], [], [], max(0.0, timeout))
        if not ready:
            return False
        self._drain()
        return True

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while True:
                if self.sock:
                    self.sock.recv(64)
                else:
                    if not os.read(self._r, 64):
                        return

    def wake(self) -> None:
        """Wake this waiter (from another thread, e.g. on stop); a no-op once closed."""
        if self.closed:
            return
        if self.sock:
            with contextlib.suppress(OSError):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    s.sendto(b"!", str(self.path))
                finally:
                    s.close()
        else:
            with contextlib.suppress(OSError):
                os.write(self._w, b"!")

    def close(self) -> None:
        self.closed = True
        if self.sock:
            self.sock.close()
            self.sock = None
            self.path.unlink(missing_ok=True)
        else:
            for fd in (self._r, self._w):
                with contextlib.suppress(OSError):
                    os.close(fd)


def notify(wake_dir: Path) -> int:
    """Wake every worker waiting on ``wake_dir``; returns how many were reached."""
    try:
        names = list(Path(wake_dir).glob("w*.sock"))
    except OSError:
        return 0
    if not names:
        return 0
    reached = 0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        for path in names:
            try:
                s.sendto(b".", str(path))
                reached += 1
            except BlockingIOError:
                reached += 1  # its buffer is full of wake-ups already: it is awake
            except OSError as exc:
                if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                    with contextlib.suppress(OSError):
                        path.unlink()  # its worker is gone
    finally:
        s.close()
    return reached
