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


# The e-mail form is typed on a Latin on-screen keyboard: the name is written in
# pinyin or Latin letters ("Wu Xiaoming", "Ouyang Nana", "O'Neil"); it is only the
# greeting of the e-mail, while the photo is found by the collection code.
NAME_MAX = 40
ADDRESS_MAX = 254
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ -'.")
ADDRESS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_+")
NAME = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")
LOCAL = re.compile(r"^[A-Za-z0-9_+\-]+(\.[A-Za-z0-9_+\-]+)*$")
LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?$")


def name_key(current: str, text: str) -> str:
    """``current`` after typing ``text``: allowed letters only, capitalised like a name."""
    out = current
    for ch in text:
        if ch not in NAME_CHARS or len(out) >= NAME_MAX:
            continue
        if ch == " " and (not out or out.endswith(" ")):
            continue
        start = not out or out[-1] in " -'"
        out += ch.upper() if start else ch.lower()
    return out


def address_key(current: str, text: str) -> str:
    """``current`` after typing ``text`` (a key or a shortcut such as ``@qq.com``)."""
    if "@" in text and "@" in current:
        text = text.replace("@", "")  # a second @ is never right
    add = "".join(ch for ch in text if ch in ADDRESS_CHARS)
    return (current + add)[:ADDRESS_MAX]


def email_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InputError("err_email_name_empty")
    if len(name) > NAME_MAX or not NAME.match(name) or sum(c.isalpha() for c in name) < 2:
        raise InputError("err_email_name")
    return name


def email_address(text: str) -> str:
    address = text.strip()
    if not address:
        raise InputError("err_email_address_empty")
    if "@" not in address:
        raise InputError("err_email_no_at")
    if len(address) > ADDRESS_MAX:
        raise InputError("err_email_too_long")
    local, _, domain = address.rpartition("@")
    if not local or "@" in local or len(local) > 64 or not LOCAL.match(local):
        raise InputError("err_email_local")
    labels = domain.split(".")
    if (len(labels) < 2 or not all(LABEL.match(lab) for lab in labels)
            or not labels[-1].isalpha() or len(labels[-1]) < 2):
        raise InputError("err_email_domain")
    if not EMAIL.match(address):
        raise InputError("err_email_address")
    return f"{local}@{domain.lower()}"


def email(name: str, address: str) -> tuple[str, str]:
    """Both fields of the e-mail form, checked the way the center will check them."""
    return email_name(name), email_address(address)
