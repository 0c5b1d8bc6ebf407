"""Rosters as schools send them, through the console's import form: UTF-8 with
and without BOM, GBK (Excel's default on Chinese Windows) and .xlsx; bad rows
come back by line number in Chinese and nothing is imported."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from center import schema as t
from tests.center.conftest import console_client, csrf_of

HEAD_ZH = "采集码,姓名,证件号后四位,学校,层次,专业,批次\n"
HEAD_EN = "collection_code,name,id_last4,school,level,major,batch\n"


def _post(c, data: bytes, filename: str):
    token = csrf_of(c.get("/console/batches").text)
    return c.post(
        "/console/roster",
        data={"csrf": token},
        files={"file": (filename, data, "application/octet-stream")},
    )


def _student(run, code: str):
    with run.server.db.read() as conn:
        return conn.execute(select(t.students).where(t.students.c.collection_code == code)).first()


def _count(run) -> int:
    with run.server.db.read() as conn:
        return conn.execute(select(func.count()).select_from(t.students)).scalar_one()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_roster_encodings_and_xlsx(center):
    from openpyxl import Workbook

    c = console_client(center)
    # GBK with Chinese headings: what Excel saves on Chinese Windows
    gbk = (HEAD_ZH + "GBK2026000001,欧阳修,0123,华南师范大学,本科,汉语言文学,GD2026-01\n").encode(
        "gbk"
    )
    r = _post(c, gbk, "名单.csv")
    assert r.status_code == 303 and "新增 1" in unquote(r.headers["location"])
    assert _student(center, "GBK2026000001").name == "欧阳修"
    # UTF-8 with and without a BOM
    for i, bom in enumerate((b"\xef\xbb\xbf", b"")):
        data = (
            bom
            + (
                HEAD_EN + f"UTF82026000{i:03d},司马光,456X,中山大学,本科,历史学,GD2026-01\n"
            ).encode()
        )
        assert _post(c, data, "roster.csv").status_code == 303
        assert _student(center, f"UTF82026000{i:03d}").id_last4 == "456X"
    # .xlsx: an ID ending typed as a number loses its leading zero in Excel; kept as 0042
    book = Workbook()
    sheet = book.active
    sheet.append(["采集码", "姓名", "证件号后四位", "学校", "层次", "专业", "批次"])
    sheet.append(["XLSX20260001", "诸葛亮", 42, "暨南大学", "硕士研究生", "管理学", "GD2026-01"])
    sheet.append([None] * 7)  # blank rows at the end, as Excel leaves them
    buf = io.BytesIO()
    book.save(buf)
    assert _post(c, buf.getvalue(), "roster.xlsx").status_code == 303
    s = _student(center, "XLSX20260001")
    assert (s.name, s.id_last4, s.level) == ("诸葛亮", "0042", "硕士研究生")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_roster_rows_by_line_in_chinese(center):
    from openpyxl import Workbook

    c = console_client(center)
    before = _count(center)
    gbk = (
        HEAD_ZH
        + "GOOD20260001,张三,1234,华南理工大学,本科,数学,GD2026-01\n"
        + "BAD!,李四,12,华南理工大学,本科,数学,GD2026-01\n"
        + "GOOD20260002,,1234,华南理工大学,本科,数学,NO-SUCH-BATCH\n"
    ).encode("gbk")
    r = _post(c, gbk, "bad.csv")
    assert r.status_code == 422
    errors = re.findall(r"<li>(.*?)</li>", r.text)
    assert "第 3 行：采集码应为 6–64 位字母或数字" in errors
    assert "第 3 行：证件号后四位应为 3 位数字加 1 位数字或 X" in errors
    assert "第 4 行：姓名为空" in errors and "第 4 行：批次不存在（请先创建批次）" in errors
    assert not any("第 2 行" in e for e in errors)
    assert not re.search(r"[A-Za-z]{4,}", " ".join(errors))  # no English
    assert "李四" not in r.text  # values are personal data: never echoed
    assert _count(center) == before  # nothing half-imported
    # missing columns, in an .xlsx
    book = Workbook()
    book.active.append(["采集码", "姓名"])
    buf = io.BytesIO()
    book.save(buf)
    r = _post(c, buf.getvalue(), "short.xlsx")
    assert r.status_code == 422 and "缺少这些列：证件号后四位、学校、层次、专业、批次" in r.text
    # not a roster at all
    r = _post(c, b"PK\x03\x04 not really a workbook", "x.xlsx")
    assert r.status_code == 422 and "无法读取这个 Excel 文件" in r.text
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", b"\0" * (80 * 1024 * 1024))
    r = _post(c, bomb.getvalue(), "bomb.xlsx")
    assert r.status_code == 422 and "解压后过大" in r.text
    huge = HEAD_EN + "GOOD20260009,张三,1234,学校,本科,数学,GD2026-01\n" + "x" * 140_000 + "\n"
    r = _post(c, huge.encode(), "huge-field.csv")
    assert r.status_code == 422 and "第 3 行无法解析" in r.text
    r = _post(c, bytes(range(128, 256)) * 4, "binary.csv")
    assert r.status_code == 422 and "编码" in r.text
    assert "Traceback" not in r.text and _count(center) == before
