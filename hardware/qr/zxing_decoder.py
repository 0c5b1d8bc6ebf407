"""zxing-cpp: the default decoder (fast, robust to tilt, blur and low contrast)."""

from __future__ import annotations

import numpy as np
import zxingcpp

from hardware.qr import to_gray


class ZxingDecoder:
    name = "zxing"

    def __init__(self) -> None:
        self._formats = zxingcpp.BarcodeFormat.QRCode

    def decode(self, frame: np.ndarray) -> list[bytes]:
        gray = to_gray(frame)
        results = zxingcpp.read_barcodes(gray, formats=self._formats, try_rotate=True)
        return [bytes(r.bytes) for r in results if r.valid]
