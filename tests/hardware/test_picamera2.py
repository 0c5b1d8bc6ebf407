"""The Raspberry Pi camera backend, against a recorded-frames FAKE of picamera2.

The real picamera2/libcamera need a Pi with a camera module; they cannot run
here. ``tests/hardware/fakes`` plays recorded full-sensor frames through the
picamera2 calls (crop, size, transform and pixel order as libcamera applies
them), so what is checked is what a booth would see: the preview's pixels,
the still's pixels (full resolution, never mirrored), and the geometry that
guidance uses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.cameras import open_camera, open_device
from hardware.errors import DeviceError
from kiosk.cli import main

FAKES = Path(__file__).parent / "fakes"
SENSOR = (2028, 1520)  # the HQ camera's 2x2-binned mode: 4:3


def _sensor_frame(portrait: np.ndarray, mark: int) -> np.ndarray:
    """A recorded sensor frame: the sitter in the middle of the 4:3 sensor, a bright
    strip down the camera's left edge (to see a mirror) and ``mark`` in one corner."""
    w, h = SENSOR
    k = h / portrait.shape[0]
    body = cv2.resize(portrait, (round(portrait.shape[1] * k), h), interpolation=cv2.INTER_AREA)
    side = (w - body.shape[1]) // 2
    frame = np.pad(body, ((0, 0), (side, w - body.shape[1] - side), (0, 0)), mode="edge")
    frame[:, :40] = (250, 250, 250)
    frame[-60:, -60:] = mark
    return frame


@pytest.fixture()
def fake_picamera2(tmp_path: Path, portraits: Path, monkeypatch) -> Path:
    from kiosk.photo.imageio import decode_rgb

    girl = decode_rgb(portraits / "asian_girl_indoor.jpg")
    rec = tmp_path / "recorded"
    rec.mkdir()
    for i in range(3):
        bgr = cv2.cvtColor(_sensor_frame(girl, 60 * i), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(rec / f"{i:03d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    monkeypatch.setenv("FAKE_PICAMERA2_FRAMES", str(rec))
    monkeypatch.syspath_prepend(str(FAKES))
    for mod in ("picamera2", "libcamera"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    return rec


def _recorded(rec: Path, i: int) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(rec / f"{i:03d}.jpg")), cv2.COLOR_BGR2RGB)


def test_preview_is_the_sensor_band_and_the_still_is_full_and_never_mirrored(
    fake_picamera2: Path,
) -> None:
    cam = open_camera("picamera2", {"picamera2": {"width": 1280, "height": 720}})
    try:
        frame = cam.preview(2.0)
        assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
        # The 16:9 preview is the centred band of the 4:3 sensor, in RGB order, unmirrored.
        band_h = round(SENSOR[0] * 9 / 16)
        y0 = (SENSOR[1] - band_h) // 2
        want = cv2.resize(_recorded(fake_picamera2, 0)[y0 : y0 + band_h], (1280, 720),
                          interpolation=cv2.INTER_AREA)  # fmt: skip
        assert np.abs(frame.astype(int) - want).mean() < 3
        assert frame[:, :10].mean() > 240 and frame[:, -10:].mean() < 240  # bright strip left
        # Guidance learns that the still reaches beyond the preview's top and bottom.
        g = cam.geometry()
        assert g is not None and g.still_size == SENSOR
        x0, y0p, x1, y1p = g.box
        assert abs(x0) < 1 and abs(x1 - 1280) < 1 and y0p < -100 and y1p > 820
        assert abs(g.scale - SENSOR[0] / 1280) < 0.01
        jpeg = cam.capture(5.0)
    finally:
        cam.close()
    still = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR),
                         cv2.COLOR_BGR2RGB)  # fmt: skip
    assert (still.shape[1], still.shape[0]) == SENSOR  # the full resolution
    rec = _recorded(fake_picamera2, 1)
    assert np.abs(still.astype(int) - rec).mean() < 3  # the sensor frame itself
    assert np.abs(still.astype(int) - rec[:, ::-1]).mean() > 20  # and not its mirror


def test_camera_list_names_the_pi_camera_and_says_when_there_is_none(
    fake_picamera2: Path, monkeypatch, capsys
) -> None:
    assert main(["camera", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["libcamera"]
    assert listed == [{"num": 0, "model": "imx477", "id": listed[0]["id"]}]
    assert main(["camera", "list"]) == 0
    assert "libcamera: #0 imx477" in capsys.readouterr().out
    monkeypatch.setenv("FAKE_PICAMERA2_CAMERAS", "0")
    with pytest.raises(DeviceError) as err:
        open_device("picamera2", {})
    assert err.value.code == "picamera_missing" and "camera" in err.value.en


def test_without_picamera2_the_backend_says_what_to_install(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # not importable
    with pytest.raises(DeviceError) as err:
        open_device("picamera2", {})
    assert "python3-picamera2" in err.value.detail
    assert main(["camera", "list"]) == 0
    assert "libcamera cameras: unavailable" in capsys.readouterr().out


def test_a_booth_on_the_pi_camera_gets_ready_and_the_still_is_compliant(
    fake_picamera2: Path, spec_name: str = "chsi_graduation"
) -> None:
    """Guidance on the Pi camera's default preview (the still's 4:3 aspect) says ready,
    and the still taken then makes a compliant photo."""
    from kiosk.photo.guidance import Guide, GuideOptions
    from kiosk.photo.pipeline import make_photo
    from kiosk.photo.spec import load_spec
    from kiosk.services.camera import _downscale, _geometry

    spec = load_spec(spec_name)
    cam = open_camera("picamera2", {"picamera2": {"width": 1280, "height": 0}})
    guide = Guide(spec, GuideOptions(stable_frames=4, switch_frames=2))
    try:
        advice = None
        for _ in range(10):
            frame = cam.preview(2.0)
            small = _downscale(frame, 640)
            guide.geometry = _geometry(cam, frame, small)
            advice = guide.update(small)
        assert frame.shape == (960, 1280, 3)
        assert advice is not None and advice.ready, advice
        result = make_photo(cam.capture(5.0), spec)
    finally:
        cam.close()
    assert result.report.ok
