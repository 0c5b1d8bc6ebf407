"""QR decoding from camera frames: ``make_decoder("zxing"|"pyzbar").decode(frame)``.

Only QR codes are looked for: collection codes and our posters are QR, and
restricting the formats makes decoding faster and stops a product barcode in
the background from being read as input.
"""

from __future__ import annotations

from typing import Any, Protocol

from numpy.typing import NDArray

from hardware.errors import DeviceError
from hardware.words import words

DECODERS = ("zxing", "pyzbar")


class Decoder(Protocol):
    name: str

    def decode(self, frame: NDArray[Any]) -> list[bytes]: ...


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
