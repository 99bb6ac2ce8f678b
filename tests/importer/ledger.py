"""Ledger files for the import tests: rows as an office writes them, as XLSX or CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from duban.models import AuditEvent, Case, Complainant, ImportedRow, Subject

HEADERS = ["台账编号", "受理单位编码", "受理时间", "渠道", "类别", "优先级", "标题", "反映内容",
           "反映人", "联系电话", "实名", "被反映单位", "被反映单位编码"]


def row(n: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "台账编号": f"LZ-{n:04d}", "受理单位编码": "GS", "受理时间": dt.datetime(2023, 3, 1, 9, n % 60),
        "渠道": "监督电话", "类别": "拖欠账款", "优先级": "涉企突出问题",
        "标题": f"城关区某工程拖欠工程款第{n}号", "反映内容": "工程已完工三年未结算。",
        "反映人": f"反映人{n}",
        "联系电话": f"1990000{n:04d}", "实名": "是", "被反映单位": "城关区住建局",
        "被反映单位编码": "GS-LZ-CG-ZJJ",
    }
    values.update(overrides)
    return values


def xlsx(path: Path, rows: list[dict[str, Any]], headers: list[str] = HEADERS) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for r in rows:
            writer.writerow([r[h].strftime("%Y/%m/%d %H:%M") if isinstance(r[h], dt.datetime) else r[h]
                             for h in HEADERS])
    return path


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {model.__name__: session.exec(select(func.count()).select_from(model)).one()
                for model in (Case, Complainant, Subject, AuditEvent, ImportedRow)}


@contextmanager
def refusing(engine: Engine, name: str) -> Iterator[None]:
    """The database itself refuses a complainant called `name` (a constraint the service does not
    check), as it would a value it cannot store."""
    if engine.dialect.name == "sqlite":
        create = (f"CREATE TRIGGER refuse BEFORE INSERT ON complainants WHEN NEW.name = '{name}' "
                  "BEGIN SELECT RAISE(ABORT, 'refused'); END")
        drop = "DROP TRIGGER refuse"
    else:
        create = f"ALTER TABLE complainants ADD CONSTRAINT refuse CHECK (name <> '{name}')"
        drop = "ALTER TABLE complainants DROP CONSTRAINT refuse"
    with engine.begin() as conn:
        conn.execute(text(create))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(drop))
