"""zxing-cpp: the default decoder (fast, robust to tilt, blur and low contrast).

Two things keep it within ~5 ms on a 1280×720 webcam frame:
- Sensor noise makes zxing's local binariser see finder-pattern candidates
  everywhere (9 ms on a blank noisy frame). The noise level is estimated on a
  subsampled frame (median step between neighbours) and the frame is smoothed
  just enough first: 1–2 ms again, and better decoding.
- When a QR code is *detected* but does not decode (strong perspective on a
  small version-1 code, blur), only the region around it is tried again,
  enlarged and unsmoothed. Frames without any code never pay for that.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from hardware.qr.frames import to_gray

# (noise level up to, Gaussian kernel); level = median |step| between samples 4 px apart.
SMOOTHING = ((2.0, 0), (8.0, 3), (16.0, 5), (float("inf"), 7))


def noise_level(gray: NDArray[Any]) -> float:
    s = gray[::4, ::4].astype(np.int16)
    return float(np.median(np.abs(s[:, 1:] - s[:, :-1])))


def _kernel(level: float) -> int:
    return next(k for limit, k in SMOOTHING if level <= limit)


class ZxingDecoder:
    name = "zxing"

    def __init__(self) -> None:
        # zxing-cpp 3: QRCode also means Micro QR and rMQR; the booth reads model 2.
        self._format = zxingcpp.BarcodeFormat.QRCodeModel2

    def _read(self, image: NDArray[Any], errors: bool = False) -> list[Any]:
        return zxingcpp.read_barcodes(
            # A BarcodeFormats made per call: one kept alive until exit makes nanobind
            # print "leaked instances" at the end of every kiosk command.
            np.ascontiguousarray(image), formats=zxingcpp.BarcodeFormats(self._format),
            return_errors=errors,
        )

    def decode(self, frame: NDArray[Any]) -> list[bytes]:
        # zxing-cpp 3 may report one symbol more than once (e.g. found again
        # while trying an inverted or rotated image): one payload, one entry.
        return list(dict.fromkeys(self._decode(frame)))

    def _decode(self, frame: NDArray[Any]) -> list[bytes]:
        gray = to_gray(frame)
        k = _kernel(noise_level(gray))
        image = cv2.GaussianBlur(gray, (k, k), 0) if k else gray
        results = self._read(image, errors=True)
        found = [bytes(r.bytes) for r in results if r.valid]
        if found or not results:
            return found
        for r in results:  # detected, not decoded: retry that region only
            crop, raw = self._region(image, gray, r.position)
            for attempt in (
                cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR),
                raw if k else None,
                cv2.resize(raw, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC),
            ):
                if attempt is None or attempt.size == 0:
                    continue
                again = [bytes(x.bytes) for x in self._read(attempt) if x.valid]
                if again:
                    found += again
                    break
        return found

    @staticmethod
    def _region(image: NDArray[Any], gray: NDArray[Any], pos: object) -> tuple[NDArray[Any], NDArray[Any]]:
        corners = [pos.top_left, pos.top_right, pos.bottom_left, pos.bottom_right]  # type: ignore[attr-defined]
        xs, ys = [c.x for c in corners], [c.y for c in corners]
        margin = max(max(xs) - min(xs), max(ys) - min(ys)) // 2 + 8
        h, w = gray.shape
        x0, y0 = max(0, min(xs) - margin), max(0, min(ys) - margin)
        x1, y1 = min(w, max(xs) + margin), min(h, max(ys) + margin)
        return image[y0:y1, x0:x1], gray[y0:y1, x0:x1]
