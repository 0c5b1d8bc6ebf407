"""Spoken prompts: the capture guidance and the 3-2-1 read aloud through espeak-ng.

Optional (``ui.speech.enabled``, off by default). The UI thread only calls
``Speaker.say``, which stores the wish and returns; one background thread
decides what is due (``Pacer``), synthesises it with ``espeak-ng --stdout``
and hands the WAV to the sound device (``CommandSink``, ``aplay`` by default).
Guidance flickers and a student does not need every change read out, so the
pacer speaks an instruction only once it has stayed on screen for a moment,
keeps a gap between utterances, never repeats itself within a while, and lets
the countdown go first. Without espeak-ng, its voice or a sound device the
booth is silent; ``status()`` tells the operator why.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hardware.health import Health
from hardware.words import words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utterance:
    text: str
    lang: str
    at: float  # when it was asked for
    urgent: bool = False


class Pacer:
    """What to say next and when; no thread, no clock of its own (unit-testable)."""

    def __init__(self, min_gap: float = 2.0, settle: float = 0.6,
                 repeat_after: float = 8.0) -> None:
        self.min_gap = min_gap
        self.settle = settle
        self.repeat_after = repeat_after
        self.pending: Utterance | None = None  # the latest instruction only
        self.urgent: deque[Utterance] = deque()  # the countdown, in order
        self.last_end = -1e9
        self.said: dict[str, float] = {}  # text → when it was last spoken

    def want(self, utt: Utterance) -> None:
        if utt.urgent:
            self.urgent.append(utt)
            self.pending = None  # guidance waiting behind a countdown is stale
        else:
            self.pending = utt

    def clear(self) -> None:
        self.pending = None
        self.urgent.clear()

    def due(self, now: float) -> tuple[Utterance | None, float | None]:
        """The utterance to speak now, else how long until one may be due (None: idle)."""
        if self.urgent:
            return self.urgent.popleft(), None
        utt = self.pending
        if utt is None:
            return None, None
        last = self.said.get(utt.text)
        if last is not None and utt.at - last < self.repeat_after:
            self.pending = None  # said a moment ago: not again
            return None, None
        ready = max(utt.at + self.settle, self.last_end + self.min_gap)
        if now < ready:
            return None, ready - now
        self.pending = None
        return utt, None

    def spoken(self, utt: Utterance, start: float, end: float) -> None:
        self.said[utt.text] = start
        self.last_end = end


class Synth(Protocol):
    def problem(self) -> str: ...
    def synthesize(self, text: str, lang: str) -> bytes: ...


class Sink(Protocol):
    def problem(self) -> str: ...
    def play(self, wav: bytes, text: str) -> None: ...


class EspeakSynth:
    """``espeak-ng --stdout``: text in on stdin (never on a command line), WAV out."""

    def __init__(self, voices: dict[str, str], rate: int = 150, volume: int = 120,
                 program: str = "espeak-ng", timeout: float = 10.0) -> None:
        self.voices = voices
        self.rate = rate
        self.volume = volume
        self.program = program
        self.timeout = timeout

    def problem(self) -> str:
        """Why this cannot speak ("" when it can)."""
        exe = shutil.which(self.program)
        if exe is None:
            return f"{self.program} not installed"
        for voice in sorted(set(self.voices.values())):
            try:
                out = subprocess.run([exe, f"--voices={voice}"], capture_output=True,
                                     text=True, timeout=self.timeout).stdout
            except (OSError, subprocess.SubprocessError) as exc:
                return f"{self.program} does not run: {type(exc).__name__}"
            if not any(line.split()[1:2] == [voice] for line in out.splitlines()[1:]):
                return f"{self.program} has no voice {voice!r}"
        return ""

    def synthesize(self, text: str, lang: str) -> bytes:
        voice = self.voices.get(lang) or next(iter(self.voices.values()))
        proc = subprocess.run(
            [self.program, "-v", voice, "-s", str(self.rate), "-a", str(self.volume),
             "--stdin", "--stdout"],
            input=text.encode("utf-8"), capture_output=True, timeout=self.timeout, check=True,
        )
        return proc.stdout


def sound_device() -> str:
    """A way to the loudspeaker: an ALSA playback device or a sound server ("" if none)."""
    pcm = sorted(glob.glob("/dev/snd/pcmC*D*p"))
    if pcm:
        return pcm[0]
    if os.environ.get("PULSE_SERVER"):
        return "PULSE_SERVER"
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    for name in ("pulse/native", "pipewire-0"):
        if runtime and (Path(runtime) / name).exists():
            return str(Path(runtime) / name)
    return ""


class CommandSink:
    """Plays a WAV through a command reading it from stdin (``aplay -q -``)."""

    def __init__(self, command: Sequence[str], timeout: float = 30.0,
                 device: Callable[[], str] = sound_device) -> None:
        self.command = list(command)
        self.timeout = timeout
        self.device = device

    def problem(self) -> str:
        if not self.command or shutil.which(self.command[0]) is None:
            return f"{self.command[0] if self.command else 'player'} not installed"
        if not self.device():
            return "no sound device"
        return ""

    def play(self, wav: bytes, text: str) -> None:
        subprocess.run(self.command, input=wav, capture_output=True, timeout=self.timeout,
                       check=True)


OFF = Health("off", "spoken prompts off (ui.speech.enabled)")


class Speaker:
    """``say`` from the UI thread; synthesis and playback in the ``speech`` thread."""

    def __init__(self, synth: Synth | None, sink: Sink | None, pacer: Pacer | None = None,
                 enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.synth = synth
        self.sink = sink
        self.pacer = pacer or Pacer()
        self.enabled = enabled and synth is not None and sink is not None
        self.clock = clock
        self._cv = threading.Condition()
        self._stop = False
        self._usable = False  # set by the thread once espeak-ng and the device are there
        self._status = Health("unknown", "checking espeak-ng and the sound device") \
            if self.enabled else OFF
        self._thread: threading.Thread | None = None
        self.errors = 0

    def start(self) -> Speaker:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
            self._thread.start()
        return self

    def status(self) -> Health:
        return self._status

    @property
    def active(self) -> bool:
        return self.enabled and not self._stop and self._status.state != "failed"

    def say(self, text: str, lang: str, urgent: bool = False) -> None:
        """Never waits: the wish replaces any instruction not yet spoken."""
        text = " ".join((text or "").split())
        if not text or not self.active:
            return
        with self._cv:
            self.pacer.want(Utterance(text, lang, self.clock(), urgent))
            self._cv.notify()

    def hush(self) -> None:
        """Drop whatever is waiting (the student left the capture screen)."""
        with self._cv:
            self.pacer.clear()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self.pacer.clear()
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(2.0)

    # -- the thread ----------------------------------------------------------
    def _check(self) -> bool:
        assert self.synth is not None and self.sink is not None
        problem = self.synth.problem() or self.sink.problem()
        if problem:
            log.warning("spoken prompts unavailable: %s", problem)
            self._status = Health("failed", problem, *words("speech_unavailable"))
            self.pacer.clear()
            return False
        self._status = Health("ok")
        return True

    def _run(self) -> None:
        if not self._check():
            return
        while True:
            with self._cv:
                while True:
                    if self._stop:
                        return
                    utt, wait = self.pacer.due(self.clock())
                    if utt is not None:
                        break
                    self._cv.wait(wait if wait is not None else 5.0)
            self._speak(utt)

    def _speak(self, utt: Utterance) -> None:
        assert self.synth is not None and self.sink is not None
        start = self.clock()
        try:
            wav = self.synth.synthesize(utt.text, utt.lang)
            self.sink.play(wav, utt.text)
        except Exception as exc:  # a sound problem must never reach the student
            self.errors += 1
            log.warning("speaking failed: %s", type(exc).__name__)
            if self.errors >= 3:
                self._status = Health("degraded", f"{self.errors} failures, last "
                                      f"{type(exc).__name__}")
        with self._cv:
            self.pacer.spoken(utt, start, self.clock())


def make_speaker(settings: Any, sink: Sink | None = None) -> Speaker:
    """The booth's speaker from ``ui.speech``; ``sink`` replaces the sound device (tests)."""
    conf = settings.section("ui").get("speech", {})
    enabled = bool(conf.get("enabled", False))
    if not enabled:
        return Speaker(None, None, enabled=False)
    synth = EspeakSynth({"zh": str(conf.get("voice_zh", "cmn")),
                         "en": str(conf.get("voice_en", "en-us"))},
                        int(conf.get("rate", 150)), int(conf.get("volume", 120)))
    pacer = Pacer(float(conf.get("min_gap", 2.0)), float(conf.get("settle", 0.6)),
                  float(conf.get("repeat_after", 8.0)))
    if sink is None:
        sink = CommandSink([str(c) for c in conf.get("player", ["aplay", "-q", "-"])])
    return Speaker(synth, sink, pacer).start()
