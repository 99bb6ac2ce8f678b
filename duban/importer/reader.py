"""Reading an office's ledger file: XLSX (first sheet, or the one named 台账) or CSV.

Rows come out as {header: value} with their row number in the file as a person sees it in Excel
(the header is row 1 when it is the first line), so an error can point at the cell.
CSV from Chinese Excel is often GB18030, not UTF-8: both are tried, UTF-8 (with or without BOM)
first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class SheetRow:
    row: int  # 1-based, as Excel numbers it
    values: dict[str, Any]


@dataclass
class Sheet:
    headers: list[str]
    total: int  # data rows, for the progress bar (an upper bound for XLSX with blank rows)
    rows: Iterator[SheetRow]


class UnreadableFile(ValueError):
    pass


def _blank(values: tuple[Any, ...] | list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _rows(header_row: int, headers: list[str], data: Iterator[tuple[Any, ...] | list[Any]]
          ) -> Iterator[SheetRow]:
    for offset, values in enumerate(data, start=1):
        if _blank(values):
            continue
        cells = {h: v for h, v in zip(headers, values, strict=False) if h}
        yield SheetRow(header_row + offset, cells)


def _header(values: tuple[Any, ...] | list[Any]) -> list[str]:
    return [str(v).strip() if v is not None else "" for v in values]


def read_xlsx(path: Path) -> Sheet:
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise UnreadableFile(str(exc)) from exc
    ws = wb["台账"] if "台账" in wb.sheetnames else wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header_row = 0
    for values in it:
        header_row += 1
        if not _blank(values):
            headers = _header(values)
            break
    else:
        return Sheet([], 0, iter(()))
    total = max((ws.max_row or header_row) - header_row, 0)

    def rows() -> Iterator[SheetRow]:
        try:
            yield from _rows(header_row, headers, it)
        finally:
            wb.close()

    return Sheet(headers, total, rows())


def read_csv(path: Path) -> Sheet:
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(f"not UTF-8 or GB18030 text: {path.name}")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    header_row = next((i for i, values in enumerate(lines) if not _blank(values)), None)
    if header_row is None:
        return Sheet([], 0, iter(()))
    headers = _header(lines[header_row])
    data = lines[header_row + 1:]
    return Sheet(headers, len(data), _rows(header_row + 1, headers, iter(data)))


def read_sheet(path: str | Path) -> Sheet:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return read_csv(path)
    raise UnreadableFile(f"{path.name}: use .xlsx or .csv")
