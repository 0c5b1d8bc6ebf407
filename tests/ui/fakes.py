"""What the UI tests put in place of things that cannot run here, and a real SMTP server.

``RecordingSink`` is a FAKE, and only of the loudspeaker: there is no sound
device on the test machine. The WAV it receives comes from the real espeak-ng.
``SmtpServer`` is a real SMTP server (aiosmtpd) on loopback.
"""

from __future__ import annotations

import email
import io
import socket
import threading
import time
import wave
from email.message import Message


class RecordingSink:
    """FAKE sound device: keeps (time, text, wav) of each utterance instead of playing it."""

    def __init__(self, seconds_per_play: float = 0.0) -> None:
        self.played: list[tuple[float, str, bytes]] = []
        self.seconds_per_play = seconds_per_play
        self.lock = threading.Lock()

    def problem(self) -> str:
        return ""

    def play(self, wav: bytes, text: str) -> None:
        if self.seconds_per_play:
            time.sleep(self.seconds_per_play)  # a loudspeaker takes time to say it
        with self.lock:
            self.played.append((time.monotonic(), text, wav))

    def texts(self) -> list[str]:
        with self.lock:
            return [t for _, t, _ in self.played]

    def clear(self) -> None:
        with self.lock:
            self.played.clear()


def wav_stats(data: bytes) -> tuple[float, int]:
    """(seconds, peak sample) of a 16-bit mono WAV (espeak-ng's --stdout)."""
    import numpy as np

    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
    samples = np.frombuffer(frames, dtype="<i2")
    return seconds, int(np.abs(samples.astype(np.int32)).max()) if samples.size else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd hook
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
