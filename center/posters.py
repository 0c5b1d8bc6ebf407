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
from kiosk.errors import KioskError

A4_300DPI = (2480, 3508)


def _context(center: Any, kind: str, ident: str) -> dict[str, Any]:
    table = t.batches if kind == "batch" else t.regions
    with center.db.read() as conn:
        row = conn.execute(select(table).where(table.c.id == ident)).first()
    if row is None:
        raise KioskError(
            "unknown_context", "没有这个批次或区域。", "No such batch or region.", ident
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
            "缺少中文字体，无法生成海报。",
            "No Chinese font installed; cannot draw the poster.",
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
        return y + (box[3] - box[1]) + size // 2

    y = centred(220, "毕业证书照片自助采集", 130)
    y = centred(y + 20, "批次二维码" if kind == "batch" else "区域二维码", 100, "#1565c0")
    y = centred(y + 20, ctx["name"], 80)
    qr = segno.make(payload, error="m", micro=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=1, border=4)
    qr_img = Image.open(buf).convert("RGB")
    side = 1500
    qr_img = qr_img.resize((side, side), Image.NEAREST)
    page.paste(qr_img, ((w - side) // 2, y + 40))
    y += 40 + side + 80
    steps = (
        ["1. 在自助机上扫描本二维码", "2. 出示学信网图像采集码", "3. 输入证件号后四位和集采特征码"]
        if kind == "batch"
        else ["1. 在自助机上扫描本二维码", "2. 出示学信网图像采集码", "3. 输入证件号后四位"]
    )
    for step in steps:
        y = centred(y, step, 70)
    centred(y + 40, f"{ctx['id']}   有效期 {ctx['valid_from']} 至 {ctx['valid_to']}", 55, "#555555")
    return page


def poster_pdf(center: Any, kind: str, ident: str) -> bytes:
    buf = io.BytesIO()
    poster_image(center, kind, ident).save(buf, "PDF", resolution=300.0)
    return buf.getvalue()
