"""Spreadsheet cells that stay text: a typed `=HYPERLINK(...)` must never become a live formula.

Exported files sit beside a complainant's name and phone, and Excel, WPS and LibreOffice evaluate
a cell that starts with `=`, `+`, `-` or `@` (and, in a CSV, one that starts with a tab or a
carriage return, which they skip before looking). A formula can send the row elsewhere
(`=WEBSERVICE(...)`, `=HYPERLINK(...)`) or start a program (DDE). Two forms are caught too:

- the same signs after leading blanks (spaces, tabs, no-break or ideographic spaces): LibreOffice
  and Excel's "trim" imports drop the blanks and then see the sign;
- the full-width signs ＝ ＋ － ＠ that Chinese input methods type: spreadsheet apps in CJK
  locales fold them to ASCII on entry, and a row that starts with one reads as nothing else anyway.

`formula_like` is the one rule. CSV cells get a leading `'` (what Excel itself writes for
"text that looks like a formula"); XLSX cells are written as strings with Excel's quote-prefix
style, so they show unchanged and even editing the cell keeps them text. Numbers and dates are
values, not text, and pass untouched.

Text is written as a person is shown it (duban.shown): without the control characters but tab
and line breaks, and without the bidi overrides. An XLSX cell is XML, which has no place for the
former (openpyxl refuses the whole workbook for one escape pasted with a letter's text); in a CSV
an escape sequence recolours the terminal that prints the file, and U+202E makes a spreadsheet
show the rest of a cell (a sum, a case number) reversed. The stored texts keep them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from duban.shown import shown

if TYPE_CHECKING:  # openpyxl is imported where a workbook is written, not for a CSV
    from openpyxl.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# Blanks a spreadsheet may skip, then a sign that starts a formula (ASCII or full-width).
_FORMULA_START = re.compile("^[ \t\r\n\u00a0\u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could take `text` for a formula (see the module's docstring)."""
    return bool(_FORMULA_START.match(text))


def csv_cell(value: Any) -> Any:
    """A value for csv.writer: None as empty, text as shown, formula-like text behind a `'`."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = shown(value)
        if formula_like(value):
            return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def keep_text(cell: Cell) -> Cell:
    """The cell as a string cell when it holds text, with the quote prefix when it looks like a formula.

    openpyxl makes a formula of every string that starts with `=` (and an error cell of `#N/A`
    and the like), so the type is set by hand after the value.
    """
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if formula_like(cell.value):
            cell.quotePrefix = True
    return cell


def xlsx_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """A value for a write-only sheet's `append`: text as a string cell, as shown, never a formula."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    return keep_text(WriteOnlyCell(ws, value=shown(value)))


def xlsx_row(ws: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    return [xlsx_cell(ws, v) for v in values]
