"""Checks of what a student types or scans, before anything leaves the kiosk.

Each returns a normalized value or raises ``InputError`` naming an i18n key,
so the screen can say exactly what is wrong with the entry.
"""

from __future__ import annotations

import re

from kiosk.errors import KioskError

LAST4 = re.compile(r"^[0-9]{3}[0-9X]$")
FEATURE = re.compile(r"^[A-Z0-9]{4}$")
CODE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


class InputError(KioskError):
    """A local entry problem; ``code`` is the i18n key of the message."""

    def __init__(self, key: str) -> None:
        super().__init__(key, "", "", "")


def id_last4(text: str) -> str:
    value = text.strip().upper()
    if len(value) != 4:
        raise InputError("err_last4_length")
    if not LAST4.match(value):
        raise InputError("err_last4_chars")
    return value


def feature_code(text: str) -> str:
    value = text.strip().upper()
    if len(value) != 4:
        raise InputError("err_feature_length")
    if not FEATURE.match(value):
        raise InputError("err_feature_chars")
    return value


def collection_code(text: str) -> str:
    value = text.strip()
    if not CODE.match(value):
        raise InputError("err_code_invalid")
    return value


def email(name: str, address: str) -> tuple[str, str]:
    name = name.strip()
    address = address.strip()
    if not name or len(name) > 40:
        raise InputError("err_email_name")
    if not EMAIL.match(address) or len(address) > 254:
        raise InputError("err_email_address")
    return name, address
