"""Roster files as schools send them: CSV in UTF-8 (with or without BOM) or in
GB18030/GBK (what Excel saves by default on Chinese Windows), and ``.xlsx``.

Why here and not in the import: a GBK file used to end in a 500 shown as raw
JSON. Reading turns any of these into rows with their line (or sheet row)
numbers, and every problem into a Chinese sentence naming the line and the
column, never the value (roster values are personal data).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from center.words import said_zh
from kiosk.errors import KioskError

XLSX_MAGIC = b"PK\x03\x04"

COLUMNS = ("collection_code", "name", "id_last4", "school", "level", "major", "batch")
# Chinese names of the columns, for messages.
COLUMN_ZH = {c: said_zh(f"column_{c}") for c in COLUMNS}


class RosterUnreadable(KioskError):
    """The file as a whole cannot be read (encoding, format, size, headings)."""

    def __init__(self, zh: str, detail: str) -> None:
        super().__init__("roster_unreadable", zh, "The roster file cannot be read.", detail)


@dataclass
class RosterRows:
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, column -> text)
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"


def default_aliases() -> dict[str, list[str]]:
    """Accepted headings per column (``[roster_columns]`` of config/messages/console.toml)."""
    import tomllib

    from kiosk.paths import CONFIG_DIR

    with (CONFIG_DIR / "messages" / "console.toml").open("rb") as fh:
        return {k: list(v) for k, v in tomllib.load(fh)["roster_columns"].items()}


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 (a BOM is dropped), else GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise RosterUnreadable(
            said_zh("roster_encoding"),
            "neither UTF-8 nor GB18030",
        ) from None


def _header_map(header: list[str], aliases: dict[str, list[str]]) -> dict[str, int]:
    cells = [str(h or "").strip().lstrip("\ufeff").lower() for h in header]
    found: dict[str, int] = {}
    for column, names in aliases.items():
        for name in names:
            if name.lower() in cells:
                found[column] = cells.index(name.lower())
                break
    missing = [c for c in aliases if c not in found]
    if missing:
        raise RosterUnreadable(
            said_zh("roster_missing_columns", columns="、".join(COLUMN_ZH.get(c, c) for c in missing),
                    expected="、".join(COLUMN_ZH.values())),
            f"missing columns: {', '.join(missing)}",
        )
    return found


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and column == "id_last4":
        return f"{value:04d}"  # Excel drops the leading zero of 0123
    return str(value).strip()


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        for record in reader:
            yield reader.line_num, record
    except csv.Error:
        raise RosterUnreadable(
            said_zh("roster_csv_line", line_num=reader.line_num),
            f"csv error at line {reader.line_num}",
        ) from None


MAX_XLSX_UNPACKED = 64 * 1024 * 1024


def _unpacked_size(data: bytes) -> int:
    """What the workbook's zip claims it unpacks to (a zip bomb is refused before reading)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, ValueError):
        return 0  # not a zip: openpyxl's own error says so


def _xlsx_rows(data: bytes, max_rows: int) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    if _unpacked_size(data) > MAX_XLSX_UNPACKED:
        raise RosterUnreadable(
            said_zh("roster_xlsx_too_large"),
            "xlsx unpacks too large",
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader complaint: not a usable workbook
        raise RosterUnreadable(
            said_zh("roster_xlsx_unreadable"),
            f"xlsx: {type(exc).__name__}",
        ) from None
    n = 0
    try:
        sheet = book.worksheets[0]
        for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if n > max_rows + 1:
                break
            yield n, list(row)
    except RosterUnreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet: say where, never a 500
        raise RosterUnreadable(
            said_zh("roster_xlsx_damaged", row=n + 1),
            f"xlsx row {n + 1}: {type(exc).__name__}",
        ) from None
    finally:
        book.close()


def read_roster(
    data: bytes,
    max_bytes: int = 5 * 1024 * 1024,
    max_rows: int = 20000,
    aliases: dict[str, list[str]] | None = None,
) -> RosterRows:
    """The file's rows by column name, with their line numbers (header is line 1)."""
    aliases = aliases or default_aliases()
    if len(data) > max_bytes:
        raise RosterUnreadable(
            said_zh("roster_file_too_large", max_mb=max_bytes // (1024 * 1024)), "file too large"
        )
    if not data.strip():
        raise RosterUnreadable(said_zh("roster_empty"), "empty file")
    if data.startswith(XLSX_MAGIC):
        records: Iterator[tuple[int, list[Any]]] = _xlsx_rows(data, max_rows)
        encoding = "xlsx"
    else:
        text, encoding = decode_text(data)
        records = _csv_rows(text)
    header: list[Any] | None = None
    columns: dict[str, int] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    for line_no, record in records:
        if header is None:
            header = record
            columns = _header_map([str(h or "") for h in record], aliases)
            continue
        if not any(_cell(v, "") for v in record):
            continue  # blank line (Excel leaves some at the end)
        if len(rows) >= max_rows:
            raise RosterUnreadable(said_zh("roster_too_many_rows", max_rows=max_rows), "too many rows")
        rows.append(
            (
                line_no,
                {c: _cell(record[i] if i < len(record) else None, c) for c, i in columns.items()},
            )
        )
    if header is None:
        raise RosterUnreadable(said_zh("roster_empty"), "no header")
    return RosterRows(rows, encoding)
