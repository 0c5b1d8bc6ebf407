"""A one-page PDF holding a JPEG at exactly its physical size.

Hand-written rather than through a library so nothing can add margins or
scale: the page (MediaBox) is the paper, the image fills it, 1 image pixel =
1 printer dot at the sheet's dpi, and ``/PrintScaling /None`` asks viewers'
print dialogs not to "fit to page" either.
"""

from __future__ import annotations


def _num(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def jpeg_page_pdf(jpeg: bytes, width_px: int, height_px: int, width_pt: float,
                  height_pt: float) -> bytes:
    w, h = _num(width_pt), _num(height_pt)
    content = f"q {w} 0 0 {h} 0 0 cm /Im0 Do Q\n".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /ViewerPreferences << /PrintScaling /None >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /CropBox [0 0 {w} {h}] "
         f"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>").encode("ascii"),
        (f"<< /Type /XObject /Subtype /Image /Width {width_px} /Height {height_px} "
         f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length {len(jpeg)} >>\n"
         "stream\n").encode("ascii") + jpeg + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode("ascii") + content + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode("ascii")
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            ).encode("ascii")
    return bytes(out)
