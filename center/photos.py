"""The cheap checks every upload passes inline.

Where the photo bytes go is ``center.storage`` (local files, the database or
an S3 store); ``photo_path`` and ``store`` remain for the local layout.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def photo_path(photos_dir: Path, sha256: str) -> Path:
    return photos_dir / sha256[:2] / f"{sha256}.jpg"


def store(photos_dir: Path, data: bytes) -> str:
    """Local layout only (tests, tools); the center itself uses ``Center.store``."""
    from center.storage.local import LocalStore

    return LocalStore(photos_dir).put(data)


def _item(name: str, value: Any, limit: str, ok: bool, zh: str, en: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "limit": limit,
        "verdict": "pass" if ok else "fail",
        "zh": zh,
        "en": en,
    }


def quick_report(data: bytes, width: int, height: int, min_bytes: int, max_bytes: int) -> dict:
    """Format, pixel size and file size, in the shape of ``Report.as_dict()``.

    Reads only the JPEG header (no decoding), so it costs well under a millisecond
    and can run on every upload; the full check runs in the background.
    """
    items = []
    size_ok = min_bytes <= len(data) <= max_bytes
    items.append(
        _item(
            "file_size",
            len(data),
            f"{min_bytes}..{max_bytes} bytes",
            size_ok,
            "照片文件大小不符合要求，请重新拍摄。",
            "The photo file size is out of range; take the photo again.",
        )
    )
    fmt, mode, dims = None, None, None
    complete = data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
    if complete:
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as img:
                fmt, mode, dims = img.format, img.mode, img.size
        except Exception:  # noqa: BLE001 - any decoder complaint means "not a JPEG"
            fmt = None
    items.append(
        _item(
            "format",
            f"{fmt or 'unreadable'} {mode or ''}".strip(),
            "JPEG RGB",
            fmt == "JPEG" and mode == "RGB",
            "照片不是完整的 JPEG 彩色图像，请重新拍摄。",
            "The photo is not a complete colour JPEG; take the photo again.",
        )
    )
    items.append(
        _item(
            "pixels",
            f"{dims[0]}x{dims[1]}" if dims else None,
            f"{width}x{height}",
            dims == (width, height),
            f"照片尺寸应为 {width}×{height} 像素，请重新拍摄。",
            f"The photo must be {width}x{height} pixels; take the photo again.",
        )
    )
    return {"ok": all(i["verdict"] == "pass" for i in items), "items": items, "stage": "upload"}
