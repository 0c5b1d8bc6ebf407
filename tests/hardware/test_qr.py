"""QR decoding (zxing-cpp and pyzbar), QR-only formats, and the keyboard-wedge scanner."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import segno

from hardware.errors import DeviceError
from hardware.qr import make_decoder
from hardware.qr.wedge import WedgeAssembler

from .qrgen import phone_frame

DECODERS = ["zxing", "pyzbar"]


@pytest.mark.parametrize("name", DECODERS)
def test_decodes_a_phone_screen_in_a_720p_frame(name: str) -> None:
    frame = phone_frame("DEMO2026GD000001", module_px=5.0)
    rgb = np.stack([frame] * 3, axis=-1)
    decoder = make_decoder(name)
    assert decoder.decode(frame) == [b"DEMO2026GD000001"]
    assert decoder.decode(rgb) == [b"DEMO2026GD000001"]


@pytest.mark.parametrize("name", DECODERS)
def test_decodes_a_tilted_slightly_blurred_dim_screen(name: str) -> None:
    frame = phone_frame("DEMO2026GD000002", module_px=6.0, tilt_deg=20, blur=1.0,
                        noise=4.0, contrast=0.6)
    assert make_decoder(name).decode(frame) == [b"DEMO2026GD000002"]


def test_one_symbol_is_one_payload_on_hard_frames() -> None:
    """zxing-cpp 3 can report a symbol twice; the booth must see it once."""
    from kiosk.bench.qr import CONDITIONS, GOAL_CONDITION, _frame

    rng = np.random.default_rng(1)
    decoder = make_decoder("zxing")
    for _ in range(100):
        payload = "".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"), 16))
        frame = _frame(payload, rng, **CONDITIONS[GOAL_CONDITION])
        assert decoder.decode(frame) == [payload.encode()]


@pytest.mark.parametrize("name", DECODERS)
def test_returns_raw_bytes_even_when_not_utf8(name: str) -> None:
    junk = bytes([0xFF, 0xFE, 0x80, 0x81, 0x00, 0x41])
    assert make_decoder(name).decode(phone_frame(junk, module_px=8.0)) == [junk]


@pytest.mark.parametrize("name", DECODERS)
def test_only_qr_codes_are_read(name: str) -> None:
    frame = np.full((720, 1280), 255, np.uint8)
    ean = segno.make("12345", micro=True)  # a Micro QR: not a format the booth reads
    m = np.array(list(ean.matrix_iter(scale=10, border=4)), np.uint8)
    frame[100 : 100 + m.shape[0], 100 : 100 + m.shape[1]] = (1 - m) * 255
    bars = np.tile(np.repeat(np.array([0, 255, 0, 0, 255, 255, 0, 255] * 12, np.uint8), 4), (200, 1))
    frame[400:600, 400 : 400 + bars.shape[1]] = bars  # a barcode-like pattern
    assert make_decoder(name).decode(frame) == []


@pytest.mark.parametrize("name", DECODERS)
def test_empty_and_odd_frames(name: str) -> None:
    decoder = make_decoder(name)
    assert decoder.decode(np.zeros((720, 1280, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        decoder.decode(np.zeros((4,), np.uint8))


def test_unknown_decoder_is_a_clear_error() -> None:
    with pytest.raises(DeviceError) as info:
        make_decoder("zbar-typo")
    assert "zxing" in info.value.detail


# -- keyboard wedge ---------------------------------------------------------------
def _typed(text: str, t0: float = 100.0, step: float = 0.004) -> list[tuple[int, int, int, float]]:
    """evdev events of a US-layout scanner typing ``text`` and Enter."""
    from evdev import ecodes as e

    symbols = {"-": ("MINUS", False), "_": ("MINUS", True), ".": ("DOT", False),
               ":": ("SEMICOLON", True), "/": ("SLASH", False), " ": ("SPACE", False)}
    events, t = [], t0
    for ch in text:
        if ch.isalpha():
            name, shift = ch.upper(), ch.isupper()
        elif ch.isdigit():
            name, shift = ch, False
        else:
            name, shift = symbols[ch]
        code = getattr(e, f"KEY_{name}")
        if shift:
            events.append((e.EV_KEY, e.KEY_LEFTSHIFT, 1, t))
        events += [(e.EV_KEY, code, 1, t), (e.EV_SYN, 0, 0, t), (e.EV_KEY, code, 0, t + 0.001)]
        if shift:
            events.append((e.EV_KEY, e.KEY_LEFTSHIFT, 0, t + 0.001))
        t += step
    events += [(e.EV_KEY, e.KEY_ENTER, 1, t), (e.EV_KEY, e.KEY_ENTER, 0, t + 0.001)]
    return events


def test_wedge_assembles_typed_codes_with_case_and_symbols() -> None:
    wedge = WedgeAssembler(gap=0.25)
    texts = ["DEMO2026gd000001", "https://x.example/a_b", "KSK1.abc-_DEF"]
    events = [ev for i, text in enumerate(texts) for ev in _typed(text, t0=100 + i)]
    assert wedge.feed_all(events) == texts


def test_wedge_drops_a_half_scan_after_a_pause() -> None:
    wedge = WedgeAssembler(gap=0.25)
    half = _typed("ABC123")[:-2]  # no Enter: the scanner was pulled away
    rest = _typed("XYZ789", t0=105.0)
    assert wedge.feed_all(half + rest) == ["XYZ789"]


@pytest.mark.skipif(not os.path.exists("/dev/uinput"), reason="no /dev/uinput on this machine")
def test_wedge_scanner_through_a_uinput_keyboard() -> None:
    import time

    from evdev import UInput
    from evdev import ecodes as e

    from hardware.qr.wedge import WedgeScanner

    with UInput({e.EV_KEY: list(range(1, 120))}, name="kiosk-test scanner") as ui:
        time.sleep(0.2)
        scanner = WedgeScanner(name_hint="kiosk-test scanner")
        try:
            for ev_type, code, value, _ in _typed("DEMO2026GD000001"):
                if ev_type == e.EV_KEY:
                    ui.write(ev_type, code, value)
                    ui.syn()
            assert scanner.read(2.0) == "DEMO2026GD000001"
        finally:
            scanner.close()


def test_decoders_agree_on_generated_frames() -> None:
    rng = np.random.default_rng(7)
    zx, zb = make_decoder("zxing"), make_decoder("pyzbar")
    for i in range(5):
        payload = f"CODE{i:04d}ABCDEFGH"
        frame = phone_frame(payload, module_px=5 + i, noise=3.0, rng=rng)
        frame = cv2.resize(frame, (1280, 720))
        assert zx.decode(frame) == zb.decode(frame) == [payload.encode()]


def test_noisy_frames_are_smoothed_before_decoding() -> None:
    from hardware.qr.zxing_decoder import _kernel, noise_level

    rng = np.random.default_rng(3)
    clean = phone_frame("DEMO2026GD000003", module_px=5.0)
    noisy = phone_frame("DEMO2026GD000003", module_px=5.0, noise=14.0, rng=rng)
    assert _kernel(noise_level(clean)) == 0  # sharp small modules are left alone
    assert _kernel(noise_level(noisy)) >= 5
    assert make_decoder("zxing").decode(noisy) == [b"DEMO2026GD000003"]
