"""Formula-like text is found in every written form and kept as text in CSV and XLSX."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from duban.cells import csv_cell, csv_row, formula_like, xlsx_row

FORMULAS = [
    "=1+1", "=HYPERLINK(\"http://x\",\"y\")", "+86 139 0931 8888", "-2+3", "@SUM(A1)",
    "\t=1+1", "\r=1+1", "\tplain", "\rplain", "  =1+1", "\u3000=1+1", "\u00a0+1",
    "＝1+1", "＋1", "－1", "＠SUM(A1)", " ＝HYPERLINK(1)", "\n=1",
    "=cmd|' /C calc'!A0", "-", "@",
]
PLAIN = ["王五反映拖欠工程款", "1+1", "a=b", "13809318888", "", " plain", "#N/A", "'quoted", "1-2"]


@pytest.mark.parametrize("text", FORMULAS)
def test_every_written_form_of_a_formula_is_found(text: str) -> None:
    assert formula_like(text)


@pytest.mark.parametrize("text", PLAIN)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert not formula_like(text)
    assert csv_cell(text) == text


def test_csv_cells_get_a_quote_and_values_pass_untouched() -> None:
    assert csv_row(["=1+1", "＋1", None, 3, -4.5, "ok"]) == ["'=1+1", "'＋1", "", 3, -4.5, "ok"]


def test_a_csv_file_carries_no_cell_that_starts_a_formula() -> None:
    out = io.StringIO()
    csv.writer(out).writerows([csv_row(FORMULAS)])
    cells = next(csv.reader(io.StringIO(out.getvalue())))
    assert cells == ["'" + text for text in FORMULAS]


def test_an_xlsx_file_holds_the_text_as_strings_and_no_formula(tmp_path: Path) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append(xlsx_row(ws, [*FORMULAS, *PLAIN, 7, None]))
    wb.save(tmp_path / "t.xlsx")
    cells = list(load_workbook(tmp_path / "t.xlsx").worksheets[0].iter_rows())[0]
    assert [c.data_type for c in cells if c.data_type == "f"] == []
    assert [c.value for c in cells[:len(FORMULAS)]] == FORMULAS  # shown unchanged, as text
    assert all(c.quotePrefix for c in cells[:len(FORMULAS)])
    assert cells[len(FORMULAS) + PLAIN.index("#N/A")].data_type == "s"  # not an error cell
    assert cells[len(FORMULAS) + len(PLAIN)].value == 7
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet and 't="inlineStr"' in sheet


_ACTING = ["\x1b", "\x07", "\x0b", "\u202e", "\u2066", "\x85"]


@pytest.mark.parametrize("acting", _ACTING)
def test_a_character_that_acts_on_the_text_around_it_is_left_out_of_both_files(acting: str,
                                                                               tmp_path: Path) -> None:
    text = f"王五反映{acting}拖欠工程款12万元"
    shown = text.replace(acting, "")
    out = io.StringIO()
    csv.writer(out).writerows([csv_row([text, f"{acting}=1+1"])])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [shown, "'=1+1"]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append(xlsx_row(ws, [text]))
    wb.save(tmp_path / "t.xlsx")
    assert next(load_workbook(tmp_path / "t.xlsx").worksheets[0].iter_rows())[0].value == shown

