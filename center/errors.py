"""API errors: one exception type rendered as ``{"error": {"code", "zh", "en", ...}}``.

The ``zh``/``en`` sentences are what the kiosk shows a student, so each says
what to do next; extra fields (``attempts_left``, ``retry_after``, ``report``)
let the kiosk act on the error without parsing text.
"""

from __future__ import annotations

from typing import Any

from center.words import said


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
        *said("unauthorized"),
    )


def unknown_code() -> ApiError:
    return ApiError(
        404,
        "unknown_code",
        *said("unknown_code"),
    )


def order_locked(state_label: str) -> ApiError:
    return ApiError(
        409,
        "order_locked",
        *said("order_locked", state_label=state_label),
        label=state_label,
    )


def bad_request(code: str, zh: str, en: str, **extra: Any) -> ApiError:
    return ApiError(422, code, zh, en, **extra)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", *said("not_found", what=what))
