"""The hard limits of the photo standard, enforced on every upload.

The kiosk only submits photos that pass ``kiosk photo check``, but the center
must not trust a caller: a file outside the standard's hard limits (JPEG RGB
baseline, exact pixel size, the file-size window) is refused before anything
is stored. Only the header is read, so this costs well under a millisecond;
the full check (face, background, ...) runs in the background and puts a
failing version at the top of the reviewers' queue (``center.review``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from center.errors import bad_request
from center.words import said


@dataclass(frozen=True)
class HardLimits:
    width: int
    height: int
    min_bytes: int
    max_bytes: int
    min_kb: int
    max_kb: int


@lru_cache(maxsize=8)
def hard_limits(spec_name: str) -> HardLimits:
    """From ``config/specs/<spec_name>.toml``; the size window is in KiB (1,024 bytes)."""
    from kiosk.photo.spec import load_spec

    spec = load_spec(spec_name)
    return HardLimits(
        width=spec.width,
        height=spec.height,
        min_bytes=spec.size_min_kb * 1024,
        max_bytes=spec.size_max_kb * 1024,
        min_kb=spec.size_min_kb,
        max_kb=spec.size_max_kb,
    )


def _item(name: str, value: Any, limit: str, ok: bool, zh: str, en: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "limit": limit,
        "verdict": "pass" if ok else "fail",
        "zh": zh,
        "en": en,
    }


def upload_report(data: bytes, limits: HardLimits) -> dict[str, Any]:
    """Format, pixel size and file size, in the shape of ``Report.as_dict()``."""
    items = []
    size_ok = limits.min_bytes <= len(data) <= limits.max_bytes
    items.append(
        _item(
            "file_size",
            len(data),
            f"{limits.min_bytes}..{limits.max_bytes} bytes",
            size_ok,
            *said("upload_file_size", min_kb=limits.min_kb, max_kb=limits.max_kb),
        )
    )
    fmt = mode = dims = None
    progressive = False
    complete = data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
    if complete:
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as img:
                fmt, mode, dims = img.format, img.mode, img.size
                progressive = bool(img.info.get("progressive") or img.info.get("progression"))
        except Exception:  # noqa: BLE001 - any decoder complaint means "not a JPEG"
            fmt = None
    items.append(
        _item(
            "format",
            f"{fmt or 'unreadable'} {mode or ''}{' progressive' if progressive else ''}".strip(),
            "JPEG RGB baseline",
            fmt == "JPEG" and mode == "RGB" and not progressive,
            *said("upload_not_jpeg"),
        )
    )
    items.append(
        _item(
            "pixels",
            f"{dims[0]}x{dims[1]}" if dims else None,
            f"{limits.width}x{limits.height}",
            dims == (limits.width, limits.height),
            *said("upload_pixels", width=limits.width, height=limits.height),
        )
    )
    return {"ok": all(i["verdict"] == "pass" for i in items), "items": items, "stage": "upload"}


def refuse_outside_hard_limits(data: bytes, spec_name: str) -> None:
    """Raise 422 ``photo_noncompliant`` (with the report) unless ``data`` meets the limits."""
    report = upload_report(data, hard_limits(spec_name))
    if not report["ok"]:
        first = next(i for i in report["items"] if i["verdict"] == "fail")
        raise bad_request(
            "photo_noncompliant",
            first["zh"],
            first["en"],
            report=report,
        )
