"""QR test frames made with segno at run time: a phone screen in a 1280×720 frame."""

from __future__ import annotations

import cv2
import numpy as np
import segno


def qr_matrix(payload: bytes | str, error: str = "m") -> np.ndarray:
    """Module matrix (1 = dark) with a 4-module quiet zone; always a full QR, never Micro."""
    q = segno.make_qr(payload, error=error)
    return np.array(list(q.matrix_iter(scale=1, border=4)), dtype=np.uint8)


def phone_frame(
    payload: bytes | str,
    module_px: float = 6.0,
    tilt_deg: float = 0.0,
    blur: float = 0.0,
    noise: float = 0.0,
    contrast: float = 1.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A grey 1280×720 frame with the code on a lit "screen", optionally distorted."""
    m = qr_matrix(payload)
    size = int(round(m.shape[0] * module_px))
    code = cv2.resize((1 - m) * 255, (size, size), interpolation=cv2.INTER_NEAREST).astype(
        np.float32
    )
    frame = np.full((720, 1280), 60.0, np.float32)
    x0, y0 = (1280 - size) // 2, (720 - size) // 2
    if tilt_deg:
        # Perspective: the screen leans back around its horizontal axis and turns a bit.
        t = np.radians(tilt_deg)
        shrink = size * (1 - np.cos(t)) / 2 + size * 0.15 * np.sin(t)
        src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
        dst = np.float32(
            [[x0 + shrink, y0 + shrink * 0.5], [x0 + size - shrink, y0 + shrink * 0.2],
             [x0 + size, y0 + size], [x0, y0 + size - shrink * 0.3]]
        )
        warp = cv2.getPerspectiveTransform(src, dst)
        mask = cv2.warpPerspective(np.ones_like(code), warp, (1280, 720))
        warped = cv2.warpPerspective(code, warp, (1280, 720))
        frame = frame * (1 - mask) + warped * mask
    else:
        frame[y0 : y0 + size, x0 : x0 + size] = code
    if contrast != 1.0:
        frame = 128 + (frame - 128) * contrast
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise:
        rng = rng or np.random.default_rng(0)
        frame = frame + rng.normal(0, noise, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)
