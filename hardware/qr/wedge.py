"""A USB keyboard-wedge scanner read through evdev, kept away from the screen.

Such a scanner "types" its payload and presses Enter. Reading it through evdev
with an exclusive grab means the keystrokes never reach the Kivy window (a
student's code must not land in a text field), and a payload is assembled
from key events here: US layout, Shift for capitals and symbols. A gap between
keys longer than ``gap`` seconds starts a new payload, so a half-read code is
dropped rather than glued to the next one.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from hardware.errors import DeviceError
from hardware.health import Health, healthy
from hardware.words import words

log = logging.getLogger(__name__)

EV_KEY = 0x01
KEY_UP, KEY_DOWN, KEY_HOLD = 0, 1, 2

# US layout: key name -> (plain, shifted). Names are evdev's without "KEY_".
_LAYOUT: dict[str, tuple[str, str]] = {
    **{c: (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **dict(zip("1234567890", zip("1234567890", "!@#$%^&*()", strict=True), strict=True)),
    "MINUS": ("-", "_"),
    "EQUAL": ("=", "+"),
    "LEFTBRACE": ("[", "{"),
    "RIGHTBRACE": ("]", "}"),
    "SEMICOLON": (";", ":"),
    "APOSTROPHE": ("'", '"'),
    "GRAVE": ("`", "~"),
    "BACKSLASH": ("\\", "|"),
    "COMMA": (",", "<"),
    "DOT": (".", ">"),
    "SLASH": ("/", "?"),
    "SPACE": (" ", " "),
    **{f"KP{d}": (d, d) for d in "0123456789"},
    "KPMINUS": ("-", "-"),
    "KPPLUS": ("+", "+"),
    "KPDOT": (".", "."),
    "KPSLASH": ("/", "/"),
    "KPASTERISK": ("*", "*"),
}
_SHIFTS = {"LEFTSHIFT", "RIGHTSHIFT"}
_ENDS = {"ENTER", "KPENTER", "TAB"}


def _code_table() -> dict[int, str]:
    from evdev import ecodes

    table = {}
    for name in [*_LAYOUT, *_SHIFTS, *_ENDS, "CAPSLOCK"]:
        code = getattr(ecodes, f"KEY_{name}", None)
        if code is not None:
            table[code] = name
    return table


class WedgeAssembler:
    """Turns key events into payload strings; pure logic, fed by the reader thread."""

    def __init__(self, gap: float = 0.25, max_length: int = 4096) -> None:
        self.gap = gap
        self.max_length = max_length
        self._names = _code_table()
        self._buf: list[str] = []
        self._shift = 0
        self._caps = False
        self._last_t: float | None = None
        self.dropped = 0  # characters of unknown keys or over-long payloads

    def feed(self, ev_type: int, code: int, value: int, t: float) -> str | None:
        """One input event; returns a finished payload on Enter."""
        if ev_type != EV_KEY:
            return None
        name = self._names.get(code)
        if name in _SHIFTS:
            if value == KEY_DOWN:
                self._shift += 1
            elif value == KEY_UP:
                self._shift = max(0, self._shift - 1)
            return None
        if value != KEY_DOWN:
            return None
        if self._last_t is not None and t - self._last_t > self.gap and self._buf:
            log.debug("wedge: %d chars dropped after a %.2f s gap", len(self._buf), t - self._last_t)
            self._buf = []
        self._last_t = t
        if name == "CAPSLOCK":
            self._caps = not self._caps
            return None
        if name in _ENDS:
            text, self._buf = "".join(self._buf), []
            return text or None
        if name is None or name not in _LAYOUT:
            self.dropped += 1
            return None
        plain, shifted = _LAYOUT[name]
        upper = bool(self._shift) != (self._caps and plain.isalpha())
        if len(self._buf) < self.max_length:
            self._buf.append(shifted if upper else plain)
        else:
            self.dropped += 1
        return None

    def feed_all(self, events: Iterable[tuple[int, int, int, float]]) -> list[str]:
        out = []
        for ev in events:
            text = self.feed(*ev)
            if text is not None:
                out.append(text)
        return out


def find_scanners(name_hint: str = "") -> list[tuple[str, str]]:
    """(path, name) of input devices that can type letters and Enter."""
    import evdev

    found = []
    for path in evdev.list_devices():
        try:
            dev = evdev.InputDevice(path)
        except OSError:
            continue
        keys = set(dev.capabilities().get(EV_KEY, []))
        ecodes = evdev.ecodes
        if ecodes.KEY_ENTER in keys and ecodes.KEY_A in keys and ecodes.KEY_1 in keys:
            if not name_hint or name_hint.lower() in dev.name.lower():
                found.append((path, dev.name))
        dev.close()
    return found


class WedgeScanner:
    """Reads a keyboard-wedge scanner on its own thread; ``read(timeout)`` gives payloads."""

    def __init__(self, device: str = "", name_hint: str = "", grab: bool = True, gap: float = 0.25):
        import evdev

        path = device
        if not path:
            candidates = find_scanners(name_hint)
            if not candidates:
                raise DeviceError(
                    "scanner_missing",
                    *words("scanner_missing"),
                    f"no keyboard-like input device matching {name_hint!r}",
                )
            path = candidates[0][0]
        try:
            self.device = evdev.InputDevice(path)
            if grab:
                self.device.grab()
        except OSError as exc:
            raise DeviceError(
                "scanner_unavailable",
                *words("scanner_unavailable"),
                f"{path}: {exc} (permissions? held by another process?)",
            ) from None
        self.path = path
        self.assembler = WedgeAssembler(gap=gap)
        self._queue: queue.Queue[str] = queue.Queue(maxsize=32)
        self._error: str = ""
        self._thread = threading.Thread(target=self._loop, name="wedge", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            for ev in self.device.read_loop():
                text = self.assembler.feed(ev.type, ev.code, ev.value, ev.timestamp())
                if text is not None:
                    try:
                        self._queue.put_nowait(text)
                    except queue.Full:
                        log.warning("wedge: payload dropped, nobody is reading")
        except OSError as exc:
            self._error = f"{self.path}: {exc} (unplugged?)"

    def read(self, timeout: float = 0.5) -> str | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def health(self) -> Health:
        if self._error or not self._thread.is_alive():
            return Health(
                "failed",
                self._error or "reader stopped",
                *words("scanner_disconnected"),
            )
        return healthy(f"wedge scanner {self.device.name} at {self.path}")

    def close(self) -> None:
        try:
            self.device.ungrab()
        except OSError:
            pass
        self.device.close()
