"""Live guidance: one instruction at a time, no flicker, and "ready" predicts a compliant still."""

from __future__ import annotations

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


def test_ready_predicts_a_compliant_still(
    guide: Guide, portraits, made, variants, made_variants
) -> None:
    """Every frame the guide calls ready makes a compliant photo; at least some do."""
    frames = {name: (decode_rgb(portraits / name), made[name]) for name in EXPECTED}
    frames |= {f"variant:{k}": (v, made_variants[k]) for k, v in variants.items()}
    ready = []
    for name, (frame, result) in frames.items():
        advice = _settle(guide, frame)
        assert advice.code in {"ready"} | set(guide_codes()), advice.code
        assert advice.arrow in ARROWS
        if advice.ready:
            ready.append(name)
            assert isinstance(result, PhotoResult) and result.report.ok, (
                name,
                getattr(result, "detail", ""),
            )
    assert len(ready) >= 3, ready


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
