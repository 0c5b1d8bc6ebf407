"""Spoken prompts without Kivy: the pacing, real espeak-ng synthesis, and a silent booth
when espeak-ng or the sound device is missing. Only the loudspeaker is a fake."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from kiosk.services.speech import (
    CommandSink,
    EspeakSynth,
    Pacer,
    Speaker,
    Utterance,
    make_speaker,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakes import RecordingSink, wav_stats  # noqa: E402

HAVE_ESPEAK = shutil.which("espeak-ng") is not None
VOICES = {"zh": "cmn", "en": "en-us"}


def test_pacer_waits_for_a_settled_instruction_and_keeps_a_gap() -> None:
    p = Pacer(min_gap=2.0, settle=0.5, repeat_after=8.0)
    p.want(Utterance("向左移", "zh", 10.0))
    assert p.due(10.2) == (None, pytest.approx(0.3))
    p.want(Utterance("向右移", "zh", 10.3))  # it flickered: only the latest counts
    assert p.due(10.6)[0] is None
    utt, _ = p.due(10.8)
    assert utt.text == "向右移"
    p.spoken(utt, 10.8, 11.5)
    p.want(Utterance("请靠近一点", "zh", 11.6))
    assert p.due(12.2)[0] is None  # 2 s gap after the end of the last one
    utt, _ = p.due(13.5)
    assert utt.text == "请靠近一点"
    p.spoken(utt, 13.5, 14.0)
    p.want(Utterance("向右移", "zh", 14.1))  # said 3.3 s ago: not again
    assert p.due(20.0) == (None, None)
    p.want(Utterance("向右移", "zh", 20.0))  # 9.2 s later it is a reminder
    assert p.due(20.6)[0].text == "向右移"


def test_pacer_countdown_goes_first_in_order_and_drops_stale_guidance() -> None:
    p = Pacer(min_gap=2.0, settle=0.5)
    p.spoken(Utterance("x", "zh", 0.0), 0.0, 9.9)
    p.want(Utterance("保持不动", "zh", 9.0))
    for n in "321":
        p.want(Utterance(n, "zh", 10.0, urgent=True))
    got = [p.due(10.0)[0].text for _ in range(3)]
    assert got == ["3", "2", "1"] and p.due(30.0) == (None, None)


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng not installed")
def test_espeak_really_synthesises_mandarin_and_english() -> None:
    synth = EspeakSynth(VOICES)
    assert synth.problem() == ""
    for text, lang in (("请向左移动一点", "zh"), ("Move a little to the left", "en")):
        wav = synth.synthesize(text, lang)
        seconds, peak = wav_stats(wav)
        assert wav[:4] == b"RIFF" and seconds > 0.5 and peak > 1000, (text, seconds, peak)


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng not installed")
def test_speaker_speaks_in_order_without_blocking_the_caller() -> None:
    sink = RecordingSink(seconds_per_play=0.3)
    speaker = Speaker(EspeakSynth(VOICES), sink, Pacer(min_gap=0.2, settle=0.1)).start()
    try:
        t0 = time.perf_counter()
        speaker.say("请向左移动", "zh")
        took = time.perf_counter() - t0
        deadline = time.monotonic() + 10
        while not sink.texts() and time.monotonic() < deadline:
            time.sleep(0.02)
        speaker.say("请向左移动", "zh")  # unchanged: not repeated
        for n in "321":
            speaker.say(n, "zh", urgent=True)
        deadline = time.monotonic() + 10
        while len(sink.texts()) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sink.texts() == ["请向左移动", "3", "2", "1"]
        assert took < 0.01 and speaker.status().state == "ok"
        assert all(wav[:4] == b"RIFF" for _, _, wav in sink.played)
    finally:
        speaker.stop()


def wait_checked(speaker: Speaker) -> None:
    deadline = time.monotonic() + 10
    while speaker.status().state == "unknown" and time.monotonic() < deadline:
        time.sleep(0.01)


def test_missing_espeak_or_sound_device_is_silent_with_a_note() -> None:
    sink = RecordingSink()
    no_espeak = Speaker(EspeakSynth(VOICES, program="espeak-ng-not-installed"), sink).start()
    no_device = Speaker(EspeakSynth(VOICES),
                        CommandSink(["sh", "-c", "cat >/dev/null"], device=lambda: "")).start()
    try:
        for speaker in (no_espeak, no_device):
            wait_checked(speaker)
            speaker.say("请向左移动", "zh")  # nothing happens, nothing raises
            assert speaker.status().state == "failed"
        assert "espeak-ng-not-installed not installed" in no_espeak.status().detail
        if HAVE_ESPEAK:
            assert no_device.status().detail == "no sound device"
        assert sink.texts() == []
        assert "not installed" in CommandSink(["no-such-player"]).problem()
    finally:
        no_espeak.stop()
        no_device.stop()


def test_setting_off_by_default_and_on_when_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.settings import load_settings

    off = make_speaker(load_settings(), RecordingSink())
    assert off.status().state == "off" and not off.active
    off.say("请向左移动", "zh")
    conf = tmp_path / "kiosk.toml"
    conf.write_text("[ui.speech]\nenabled = true\n")
    monkeypatch.setenv("KIOSK_CONFIG", str(conf))
    on = make_speaker(load_settings(), RecordingSink())
    try:
        wait_checked(on)
        assert on.status().state == ("ok" if HAVE_ESPEAK else "failed")
    finally:
        on.stop()
