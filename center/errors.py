"""API errors: one exception type rendered as ``{"error": {"code", "zh", "en", ...}}``.

The ``zh``/``en`` sentences are what the kiosk shows a student, so each says
what to do next; extra fields (``attempts_left``, ``retry_after``, ``report``)
let the kiosk act on the error without parsing text.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, zh: str, en: str, **extra: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.zh = zh
        self.en = en
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "zh": self.zh, "en": self.en, **self.extra}}


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "设备未授权，请联系管理员。",
        "This kiosk is not authorized; call the operator.",
    )


def unknown_code() -> ApiError:
    return ApiError(
        404,
        "unknown_code",
        "未找到该采集码，请核对后重新扫码。",
        "Unknown collection code; check it and scan again.",
    )


def order_locked(state_label: str) -> ApiError:
    return ApiError(
        409,
        "order_locked",
        f"订单当前状态为“{state_label}”，不能进行此操作。",
        "The order cannot do this in its current state.",
        label=state_label,
    )


def bad_request(code: str, zh: str, en: str, **extra: Any) -> ApiError:
    return ApiError(422, code, zh, en, **extra)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", "未找到相关记录。", f"No such {what}.")
