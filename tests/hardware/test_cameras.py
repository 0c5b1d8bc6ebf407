"""Cameras: simulated clip, OpenCV on a video file, python-gphoto2's virtual camera."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.cameras import CameraService, open_camera, open_device
from hardware.cameras.base import Camera
from hardware.cameras.sample_clip import load_segments
from hardware.errors import DeviceError, DeviceTimeout


def _decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    return image


def _write_clip(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def _asymmetric(value: int, w: int = 320, h: int = 240) -> np.ndarray:
    """Bright left third, dark rest; ``value`` marks the frame in the green channel."""
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, : w // 3] = 230
    frame[:, :, 1] = value
    return frame


# -- simulated ---------------------------------------------------------------
def test_sample_clip_is_720p_mjpg_with_motion_and_a_source_map(sample_clip: Path) -> None:
    cap = cv2.VideoCapture(str(sample_clip))
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 1280
    assert int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == 720
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    assert fourcc == "MJPG"
    ok0, first = cap.read()
    ok1, second = cap.read()
    cap.release()
    assert ok0 and ok1
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 1.0, "no motion"
    segments = load_segments(sample_clip)
    assert len(segments) >= 6
    assert all(Path(s["source"]).exists() for s in segments)


def test_simulated_camera_paces_frames_and_still_is_the_original(sample_clip: Path) -> None:
    cam = open_camera("simulated", {"simulated": {"source": str(sample_clip)}})
    try:
        t0 = time.monotonic()
        for _ in range(8):
            frame = cam.preview(1.0)
        elapsed = time.monotonic() - t0
        assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
        assert elapsed >= 7 / 15 * 0.9, f"8 frames of a 15 fps clip in {elapsed:.2f} s"
        still = cam.capture(5.0)
        sources = {Path(s["source"]).read_bytes() for s in load_segments(sample_clip)}
        assert still in sources, "the still must be the portrait file itself, untouched"
        assert cam.health().state == "ok"
    finally:
        cam.close()


def test_simulated_video_loops_and_still_is_never_mirrored(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "c.avi", [_asymmetric(v) for v in (0, 120, 250)], 200.0)
    cam = open_device("simulated", {"source": str(clip)})
    try:
        greens = [int(np.median(cam.preview()[:, :, 1][:, 200:])) for _ in range(7)]
        assert greens[3] == pytest.approx(greens[0], abs=12), greens  # looped
        still = _decode(cam.capture())
        left = still[:, :100].mean()
        right = still[:, -100:, 0].mean()
        assert left > right + 100, "still looks mirrored"
    finally:
        cam.close()


def test_simulated_stills_folder(tmp_path: Path, portraits: Path) -> None:
    for name in ("man_suit_office.jpg", "asian_woman_suit.jpg"):
        shutil.copy(portraits / name, tmp_path / name)
    cam = open_device("simulated", {"source": str(tmp_path), "fps": 30.0, "still_seconds": 1.0})
    try:
        assert cam.preview().shape == (720, 1280, 3)
        assert cam.capture() == (tmp_path / "asian_woman_suit.jpg").read_bytes()
    finally:
        cam.close()


# -- OpenCV on a video file ---------------------------------------------------
def test_opencv_backend_on_a_video_file(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "w.avi", [_asymmetric(v, 640, 480) for v in (10, 200)], 100.0)
    cam = open_camera("opencv", {"opencv": {"device": str(clip), "fps": 0.0}})
    try:
        frame = cam.preview(1.0)
        assert frame.shape == (480, 640, 3)
        assert frame[:, :100, 0].mean() > frame[:, -100:, 0].mean() + 100  # RGB, not flipped
        still = _decode(cam.capture(2.0))
        assert still.shape == (480, 640, 3)
        assert [cam.preview(1.0) is not None for _ in range(5)] == [True] * 5  # loops
        info = cam.describe()
        assert info["width"] == 640 and info["height"] == 480
    finally:
        cam.close()


def test_opencv_missing_device_is_a_clear_error() -> None:
    cam = open_camera("opencv", {"opencv": {"device": "/dev/video97"}, "fail_after": 1})
    try:
        with pytest.raises(DeviceError) as info:
            cam.preview(2.0)
        assert info.value.code == "webcam_missing"
        health = cam.health()
        assert health.state == "failed" and "摄像头" in health.zh
    finally:
        cam.close()


# -- gphoto2 (the wheel's virtual USB camera) ---------------------------------
def test_gphoto2_virtual_camera_applies_model_settings_and_captures(vcamera: Path) -> None:
    cam = open_device("gphoto2", {})
    try:
        info = cam.describe()
        assert info["model"] == "Nikon DSC D750"
        assert info["model_file"] == "nikon-dslr.toml"
        assert info["applied"]["capturetarget"] == "Internal RAM"
        assert info["applied"]["autofocus"] == "Off"
        assert "autooffdelay" in info["skipped"]  # the virtual body has no such widget
        assert cam.capture() == (vcamera / "a.jpg").read_bytes()
        with pytest.raises(DeviceError) as err:
            cam.preview()
        assert err.value.code == "no_live_view"
    finally:
        cam.close()


def test_gphoto2_unplug_and_reconnect(vcamera: Path, portraits: Path) -> None:
    cam = open_camera("gphoto2", {"backoff_initial": 1.0, "backoff_max": 1.0, "fail_after": 3})
    try:
        assert cam.capture(10.0) == (vcamera / "a.jpg").read_bytes()
        shutil.rmtree(vcamera)  # the camera is unplugged mid-session
        with pytest.raises(DeviceError) as lost:
            cam.capture(10.0)
        assert lost.value.code == "camera_lost"
        assert cam.health().state == "degraded"
        with pytest.raises(DeviceError):
            cam.capture(10.0)  # immediate re-open fails: still unplugged
        with pytest.raises(DeviceError) as waiting:
            cam.capture(10.0)  # within back-off: answered at once, not retried
        assert "reconnecting in" in waiting.value.detail
        vcamera.mkdir()
        shutil.copy(portraits / "asian_woman_suit.jpg", vcamera / "b.jpg")  # plugged back
        deadline = time.monotonic() + 5.0
        while True:
            try:
                still = cam.capture(10.0)
                break
            except DeviceError:
                assert time.monotonic() < deadline, "camera never came back"
                time.sleep(0.1)
        assert still == (vcamera / "b.jpg").read_bytes()
        assert cam.recoveries == 1
        assert cam.health().state == "ok"
    finally:
        cam.close()


def test_device_held_by_gvfs_is_named() -> None:
    import gphoto2 as gp

    from hardware.cameras.gphoto2_cam import translate_error

    holder = subprocess.Popen(["gvfsd-gphoto2", "60"], executable="/bin/sleep")
    cmdline = Path(f"/proc/{holder.pid}/cmdline")
    deadline = time.monotonic() + 5
    while not cmdline.read_bytes().startswith(b"gvfsd-gphoto2"):  # exec has not happened yet
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        err = translate_error(gp.GPhoto2Error(gp.GP_ERROR_IO_USB_CLAIM), "open")
        assert err.code == "camera_claimed"
        assert f"gvfsd-gphoto2 (pid {holder.pid})" in err.detail
        assert "占用" in err.zh and err.reopen
    finally:
        holder.kill()
        holder.wait()


def test_hybrid_previews_from_webcam_and_shoots_with_dslr(vcamera: Path, sample_clip: Path) -> None:
    cam = open_camera(
        "hybrid",
        {"hybrid": {"preview_backend": "simulated"}, "simulated": {"source": str(sample_clip)}},
    )
    try:
        assert cam.preview(1.0).shape == (720, 1280, 3)
        assert cam.capture(10.0) == (vcamera / "a.jpg").read_bytes()
        assert cam.health().state == "ok"
        assert cam.describe()["still"]["model"] == "Nikon DSC D750"
    finally:
        cam.close()


# -- the service wrapper -------------------------------------------------------
class HangingCamera(Camera):
    """Test double for a driver call that hangs (cannot be provoked in the virtual camera)."""

    name = "hanging"

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def preview(self, timeout: float = 1.0) -> np.ndarray:
        return np.zeros((4, 4, 3), np.uint8)

    def capture(self, timeout: float = 10.0) -> bytes:
        self.release.wait(10)
        return b"\xff\xd8late"


def test_service_answers_within_timeout_when_the_driver_hangs() -> None:
    release = threading.Event()
    opened = []

    def factory() -> Camera:
        opened.append(1)
        return HangingCamera(release)

    cam = CameraService(factory, "hanging", backoff_initial=0.05)
    try:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout):
            cam.capture(0.3)
        assert time.monotonic() - t0 < 1.0
        t1 = time.monotonic()
        with pytest.raises(DeviceError) as stuck:
            cam.preview(1.0)
        assert stuck.value.code == "camera_stuck" and time.monotonic() - t1 < 0.2
        assert cam.health().state == "degraded"
        release.set()
        deadline = time.monotonic() + 3
        while True:  # once the hung call returns, the device is re-opened
            try:
                assert cam.preview(1.0).shape == (4, 4, 3)
                break
            except DeviceError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert len(opened) == 2
    finally:
        release.set()
        cam.close()
