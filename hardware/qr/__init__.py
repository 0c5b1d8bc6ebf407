"""QR decoding from camera frames: ``make_decoder("zxing"|"pyzbar").decode(frame)``.

Only QR codes are looked for: collection codes and our posters are QR, and
restricting the formats makes decoding faster and stops a product barcode in
the background from being read as input.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from hardware.errors import DeviceError
from hardware.words import words

DECODERS = ("zxing", "pyzbar")


class Decoder(Protocol):
    name: str

    def decode(self, frame: NDArray[Any]) -> list[bytes]: ...


def to_gray(frame: NDArray[Any]) -> NDArray[Any]:
    """Grayscale uint8, contiguous: both libraries are fastest on one channel."""
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        f = frame.astype(np.uint16)
        gray = ((f[..., 0] * 77 + f[..., 1] * 150 + f[..., 2] * 29) >> 8).astype(np.uint8)
    else:
        raise ValueError(f"not an image frame: shape {frame.shape}")
    if gray.dtype != np.uint8:
        gray = gray.astype(np.uint8)
    return np.ascontiguousarray(gray)


def make_decoder(name: str = "zxing") -> Decoder:
    if name == "zxing":
        from hardware.qr.zxing_decoder import ZxingDecoder

        return ZxingDecoder()
    if name == "pyzbar":
        from hardware.qr.pyzbar_decoder import PyzbarDecoder

        return PyzbarDecoder()
    raise DeviceError(
        "unknown_decoder",
        *words("unknown_decoder"),
        f"unknown QR decoder {name!r}; use one of {', '.join(DECODERS)}",
    )
