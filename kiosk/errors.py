"""One error type that carries both audiences' words.

The student reads a short Chinese sentence that says what to do, the operator
reads the detail; both come from the same exception so no layer has to guess.
"""

from __future__ import annotations


class KioskError(Exception):
    """An expected failure with a student-facing message and operator detail.

    ``code`` is a stable machine identifier (used in JSON output, exit-code
    mapping and i18n look-ups); ``zh``/``en`` are what a student may see;
    ``detail`` is for the operator and logs and must hold no personal data.
    """

    def __init__(self, code: str, zh: str, en: str, detail: str = "") -> None:
        super().__init__(f"{code}: {en}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.zh = zh
        self.en = en
        self.detail = detail

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en, "detail": self.detail}


class ConfigError(KioskError):
    """A configuration file names an unknown key, a wrong type or bad syntax."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "config",
            "设备配置有误，请联系管理员。",  # kept here: shown when faults.toml itself is unreadable
            "The kiosk configuration is invalid; call the operator.",
            detail,
        )
