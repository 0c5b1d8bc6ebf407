"""Batch and region QR posters: a signed context QR with Chinese text, as PDF.

The QR holds ``KSK1.<json>.<signature>`` made by ``kiosk.qr_payloads.sign_context``
with the center's Ed25519 key; kiosks verify it with ``GET /api/v1/keys``.
Drawn with Pillow (the CJK font from ``kiosk.fonts``) so the PDF needs no
font embedding and prints the same everywhere.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from center import schema as t
from center.words import said, said_zh
from kiosk.errors import KioskError

A4_300DPI = (2480, 3508)


def _context(center: Any, kind: str, ident: str) -> dict[str, Any]:
    table = t.batches if kind == "batch" else t.regions
    with center.db.read() as conn:
        row = conn.execute(select(table).where(table.c.id == ident)).first()
    if row is None:
        raise KioskError(
            "unknown_context", *said("poster_unknown_context"), ident
        )
    return {
        "v": 1,
        "kind": kind,
        "id": row.id,
        "name": row.name,
        "feature_required": kind == "batch",
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
    }


def poster_payload(center: Any, kind: str, ident: str) -> str:
    from kiosk.qr_payloads import sign_context

    return sign_context(center.signing_key, _context(center, kind, ident))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from kiosk.fonts import font_path

    path = font_path()
    if path is None:
        raise KioskError(
            "no_cjk_font",
            *said("no_cjk_font"),
            "apt install fonts-noto-cjk or fonts-wqy-microhei",
        )
    return ImageFont.truetype(str(path), size)


def poster_image(center: Any, kind: str, ident: str) -> Image.Image:
    import segno

    ctx = _context(center, kind, ident)
    payload = poster_payload(center, kind, ident)
    page = Image.new("RGB", A4_300DPI, "white")
    draw = ImageDraw.Draw(page)
    w, _ = A4_300DPI

    def centred(y: int, text: str, size: int, fill: str = "black") -> int:
        font = _font(size)
        box = draw.textbbox((0, 0), text, font=font)
        draw.text(((w - (box[2] - box[0])) // 2, y), text, font=font, fill=fill)
        return y + int(box[3] - box[1]) + size // 2

    y = centred(220, said_zh("poster_title"), 130)
    y = centred(y + 20, said_zh(f"poster_{kind}_qr"), 100, "#1565c0")
    y = centred(y + 20, ctx["name"], 80)
    qr = segno.make(payload, error="m", micro=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=1, border=4)
    qr_img = Image.open(buf).convert("RGB")
    side = 1500
    qr_img = qr_img.resize((side, side), Image.Resampling.NEAREST)
    page.paste(qr_img, ((w - side) // 2, y + 40))
    y += 40 + side + 80
    for step in said_zh(f"poster_{kind}_steps").splitlines():
        y = centred(y, step, 70)
    validity = said_zh("poster_validity", id=ctx["id"], valid_from=ctx["valid_from"],
                       valid_to=ctx["valid_to"])
    centred(y + 40, validity, 55, "#555555")
    return page


def poster_pdf(center: Any, kind: str, ident: str) -> bytes:
    buf = io.BytesIO()
    poster_image(center, kind, ident).save(buf, "PDF", resolution=300.0)
    return buf.getvalue()
