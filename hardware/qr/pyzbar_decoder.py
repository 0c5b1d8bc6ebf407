"""pyzbar (libzbar0): the alternative decoder, selectable in config."""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray
from pyzbar import pyzbar

from hardware.qr.frames import to_gray


def _raw_bytes(data: bytes) -> bytes:
    """Undo zbar's text guess so both decoders hand out the QR's own bytes.

    zbar returns byte-mode data that is not valid UTF-8 transcoded from
    ISO-8859-1 to UTF-8. When the result maps back to Latin-1 and those bytes
    are not UTF-8 themselves, they are the original bytes.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    if all(ord(c) < 256 for c in text):
        original = text.encode("latin-1")
        try:
            original.decode("utf-8")
        except UnicodeDecodeError:
            return original
    return data


class PyzbarDecoder:
    name = "pyzbar"

    def decode(self, frame: NDArray[Any]) -> list[bytes]:
        gray = to_gray(frame)
        h, w = gray.shape
        results = pyzbar.decode((gray.tobytes(), w, h), symbols=[pyzbar.ZBarSymbol.QRCODE])
        return [_raw_bytes(bytes(r.data)) for r in results]
