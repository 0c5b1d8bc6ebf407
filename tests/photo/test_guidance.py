"""Live guidance: one instruction at a time, no flicker, and "ready" predicts a compliant still."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.photo.guidance import ARROWS, Guide, GuideOptions
from kiosk.photo.imageio import decode_rgb
from kiosk.photo.pipeline import PhotoResult

from .conftest import EXPECTED, jpeg_bytes, run

OPTS = GuideOptions(stable_frames=4, switch_frames=2)


@pytest.fixture(scope="module")
def guide(spec) -> Guide:
    return Guide(spec, OPTS)


def _settle(guide: Guide, frame: np.ndarray, n: int = 8):
    guide.reset()
    advice = None
    for _ in range(n):
        advice = guide.update(frame)
    return advice


def booth_frame(rgb: np.ndarray, size: tuple[int, int] = (1280, 720)) -> tuple[np.ndarray, float]:
    """The picture as the simulated booth camera shows it: letterboxed on grey 90 bars.

    Returns the frame and the still's pixels per frame pixel (the capture is the picture itself).
    """
    w, h = size
    k = min(w / rgb.shape[1], h / rgb.shape[0])
    nw, nh = max(1, int(rgb.shape[1] * k)), max(1, int(rgb.shape[0] * k))
    out = np.full((h, w, 3), 90, np.uint8)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return out, 1 / k


def _forms(rgb: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    """The picture itself, the 1280x720 preview, and that preview reduced to 640x360 (the booth)."""
    big, scale = booth_frame(rgb)
    small = cv2.resize(big, (640, 360), interpolation=cv2.INTER_AREA)
    return {"direct": (rgb, 1.0), "preview": (big, scale), "booth": (small, 2 * scale)}


def test_ready_predicts_a_compliant_still(
    guide: Guide, portraits, made, variants, made_variants
) -> None:
    """Every frame the guide calls ready makes a compliant photo: the pictures themselves,
    and letterboxed or downscaled previews of them as the booth shows them."""
    frames = {name: (decode_rgb(portraits / name), made[name]) for name in EXPECTED}
    frames |= {f"variant:{k}": (v, made_variants[k]) for k, v in variants.items()}
    ready = []
    try:
        for name, (picture, result) in frames.items():
            for form, (frame, still_scale) in _forms(picture).items():
                guide.still_scale = still_scale
                advice = _settle(guide, frame)
                assert advice.code in {"ready"} | set(guide_codes()), advice.code
                assert advice.arrow in ARROWS
                if advice.ready:
                    ready.append(f"{name}/{form}")
                    assert isinstance(result, PhotoResult) and result.report.ok, (
                        name,
                        form,
                        getattr(result, "detail", ""),
                    )
    finally:
        guide.still_scale = 1.0
    assert len(ready) >= 15, ready
    # Long hair against trees and sky: the still is compliant, and so the guide gets there.
    assert {f"asian_woman_street.jpg/{f}" for f in ("direct", "preview", "booth")} <= set(ready)


def test_booth_preview_of_long_hair_against_trees_becomes_ready(portraits, spec) -> None:
    """The booth's own set-up: 640x360 frames of the 1280x720 preview, with the still's
    real scale (the still is the picture itself: guidance weighs how much the still will
    be enlarged, so a guessed scale would ask a student to come closer in vain)."""
    frame, scale = booth_frame(decode_rgb(portraits / "asian_woman_street.jpg"))
    small = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)
    booth = Guide(spec, GuideOptions(), still_scale=2 * scale)
    advice = None
    for _ in range(GuideOptions().stable_frames + GuideOptions().switch_frames + 1):
        advice = booth.update(small)
    assert advice.ready and advice.code == "ready", (advice.code, advice.detail)


def guide_codes() -> list[str]:
    from kiosk.photo.messages import _messages

    return list(_messages()["guidance"])


def test_what_blocks_ready_is_what_the_still_would_fail(guide: Guide, portraits) -> None:
    assert _settle(guide, decode_rgb(portraits / "two_faces_event.jpg")).code == "multiple_faces"
    assert _settle(guide, decode_rgb(portraits / "man_suit_office.jpg")).code == "close_mouth"
    assert _settle(guide, decode_rgb(portraits / "asian_woman_suit.jpg")).code == "hair_too_high"


def test_off_centre_student_is_sent_the_right_way(guide: Guide, girl: np.ndarray, spec) -> None:
    """Sitting at the camera's left edge (the student's right), the student must move to their left."""
    h, w = girl.shape[:2]
    frame = np.pad(
        girl[:, w // 5 :], ((0, 0), (0, w), (0, 0)), mode="edge"
    )  # shoulder cut at the left edge
    advice = _settle(guide, frame)
    assert (advice.code, advice.arrow) == ("move_left", "left")
    mirrored = np.ascontiguousarray(frame[:, ::-1])  # the student on the other side
    advice = _settle(guide, mirrored)
    assert (advice.code, advice.arrow) == ("move_right", "right")
    # And the still really cannot be made from there.
    result = run(jpeg_bytes(frame))
    assert not isinstance(result, PhotoResult)


def test_instruction_does_not_flicker(guide: Guide, portraits, girl: np.ndarray) -> None:
    grin = decode_rgb(portraits / "man_suit_office.jpg")
    advice = _settle(guide, grin, 4)
    assert advice.code == "close_mouth"
    blank = np.full_like(grin, 128)
    assert guide.update(blank).code == "close_mouth"  # one odd frame changes nothing
    advice = guide.update(grin)
    assert advice.code == "close_mouth" and not advice.ready


def test_ready_needs_stable_frames_and_resets_on_movement(guide: Guide, girl: np.ndarray) -> None:
    guide.reset()
    seen = [guide.update(girl) for _ in range(OPTS.stable_frames + OPTS.switch_frames + 1)]
    assert not seen[0].ready and seen[-1].ready and seen[-1].progress == 1.0
    assert [a.progress for a in seen] == sorted(a.progress for a in seen)
    moved = np.roll(girl, girl.shape[1] // 8, axis=1)
    after = guide.update(moved)
    assert not after.ready
    assert after.face_box is not None


def test_tilted_head_gets_straighten_with_the_mirrored_direction(
    guide: Guide, girl: np.ndarray
) -> None:
    import cv2

    h, w = girl.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h * 0.4), 9, 1.0)  # the student's left eye rises
    advice = _settle(guide, cv2.warpAffine(girl, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    # In the mirror the raised eye is on the student's left: tilt the head to the left.
    assert (advice.code, advice.arrow) == ("straighten", "tilt_left")
    odd = guide.update(np.full_like(girl, 128))  # one frame without a face: nothing flickers
    assert (odd.code, odd.arrow) == ("straighten", "tilt_left")
    m = cv2.getRotationMatrix2D((w / 2, h * 0.4), -9, 1.0)
    advice = _settle(guide, cv2.warpAffine(girl, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    assert (advice.code, advice.arrow) == ("straighten", "tilt_right")


def test_a_second_person_joining_a_tracked_student_is_counted(girl, spec) -> None:
    """While one face is tracked the detectors take turns on frames of their own; a
    second person stepping in beside the student must still withdraw "ready"."""
    from hardware.cameras.geometry import PictureGeometry

    h, w = girl.shape[:2]
    alone = np.full((h, 2 * w, 3), 128, np.uint8)
    alone[:, :w] = girl
    pair = alone.copy()
    pair[:, w:] = girl
    guide = Guide(spec, OPTS)
    guide.geometry = PictureGeometry.fitted((2 * w, h), (1280, 720))
    first = [guide.update(booth_frame(alone)[0]) for _ in range(12)][-1]
    assert first.code != "multiple_faces", first.detail
    then = [guide.update(booth_frame(pair)[0]) for _ in range(8)][-1]
    assert (then.code, then.ready) == ("multiple_faces", False), then.detail
