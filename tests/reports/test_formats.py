"""The same report as a web fragment, a print page, a workbook, a terminal page and an e-mail."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.console import Console
from sqlalchemy.engine import Engine

from duban.clock import parse_local
from duban.reports import build_board, build_report
from duban.reports.html import (
    render_board_html,
    render_board_page,
    render_report_html,
    render_report_page,
)
from duban.reports.terminal import render_board, render_report
from duban.reports.xlsx import write_xlsx
from duban.services import CaseService
from tests.factories import CLERK, DISPATCHER, complaint, world
from tests.reports import scenario

PHONE = "19900123456"  # every scenario complainant's phone (tests.factories.complaint)


@pytest.fixture
def november(engine: Engine) -> scenario.November:
    return scenario.build(engine)


def test_the_web_fragment_is_one_section_with_its_style_charts_and_traced_figures(
        november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    html = render_report_html(report)
    assert html.startswith('<section class="duban-report"') and html.rstrip().endswith("</section>")
    assert "<html" not in html and "<script" not in html
    assert html.count("<svg") == 3 and "<style>" in html
    assert report.narrative in html
    assert "data-trace=" in html and "figure=received&amp;period=2023-11&amp;office=GS" in html
    assert PHONE not in html and "测试反映人" not in html
    linked = render_report_html(report, figure_link=lambda t: f"/reports/cases?{t.query_string()}",
                                case_link=lambda n: f"/cases/{n}")
    assert 'href="/reports/cases?figure=on_time&amp;period=2023-11&amp;office=GS"' in linked
    assert f'href="/cases/{november.numbers["H"]}"' in linked


def test_the_print_page_sets_a4_and_the_cjk_fonts(november: scenario.November) -> None:
    page = render_report_page(build_report(november.ctx, "2023-11", "GS"))
    assert page.startswith("<!doctype html>") and '<html lang="zh-CN">' in page
    assert "@page { size: A4" in page
    assert '"Noto Sans CJK SC"' in page and '"Noto Serif CJK SC"' in page
    assert "每月专报" in page and "2023年11月" in page


def test_the_workbook_has_a_sheet_per_table_and_a_ledger_row_per_case(
        november: scenario.November, tmp_path: Path) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    path = write_xlsx(report, tmp_path / "report.xlsx")
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames[0] == "概况" and wb.sheetnames[-1] == "台账"
    assert {"受理", "处置", "三率", "单位排名", "环比同比", "预警"} <= set(wb.sheetnames)
    rows = list(wb["台账"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == len(list(report.ledger()))  # type: ignore[misc]
    assert len({r[0] for r in body}) == len(body)
    on_time = header.index("计入：按期办结")
    assert sum(r[on_time] for r in body) == report.figures["on_time"].value == 4
    everything = [v for sheet in wb.worksheets for row in sheet.iter_rows(values_only=True) for v in row]
    assert PHONE not in everything and "测试反映人" not in everything


def test_the_terminal_page_opens_with_the_narrative(november: scenario.November) -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(render_report(build_report(november.ctx, "2023-11", "GS")))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2023年11月，省市县三级共受理社会监督意见9件" in text
    assert "响应率" in text and "87.5%" in text


def test_the_board_shows_open_cases_by_unit_and_colour(november: scenario.November) -> None:
    board = build_board(november.ctx, "GS", at=parse_local("2023-11-30 09:00"))
    lines = {line.code: line for line in board.lines}
    # C (城关区水务局) and I (兰州市住建局) are overdue; E is on its last day; H (due 8 Dec) has 7 of
    # its 22 working days left, under a third: blue.
    assert lines["GS-LZ-CG-SWJ"].red == 1 and lines["GS-LZ-ZJJ"].red == 1
    assert lines["GS-LZ-CG-GOV"].yellow == 1
    assert lines["GS-FGW"].blue == 1
    assert lines["GS"].total == 1  # D awaits triage at the office itself
    assert [c["number"] for c in board.red_cases] == [november.numbers["C"], november.numbers["I"]]
    html = render_board_html(board)
    assert html.startswith('<section class="duban-board"') and "<svg" in html
    assert render_board_page(board).startswith("<!doctype html>")
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(render_board(board))
    assert "城关区水务局" in console.file.getvalue()  # type: ignore[attr-defined]


def test_the_json_form_carries_every_figure_with_its_trace(november: scenario.November) -> None:
    import json

    data = build_report(november.ctx, "2023-11", "GS").as_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert data["figures"]["on_time"] == {"value": 4, "measure": "jian", "trace": {
        "figure": "on_time", "period": "2023-11", "office": "GS", "where": {}}}
    assert data["rates"]["response"]["value"] == 7 / 8
    assert "19900123456" not in text


def test_the_workbook_writes_typed_formulas_as_text(engine: Engine, tmp_path: Path) -> None:
    ctx = world(engine, start="2023-11-01 09:00")
    traps = ["=HYPERLINK(\"http://evil.example\",\"看\")", "+1+1", "-1+1", "@SUM(A1)", "＝1+1"]
    for i, trap in enumerate(traps):
        data = complaint(title=f"{trap}{i}", subject_name=trap)
        number = CaseService(ctx).register(data, actor=CLERK).case.number
        CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    path = write_xlsx(build_report(ctx, "2023-11", "GS"), tmp_path / "report.xlsx")
    wb = load_workbook(path)
    cells = [c for sheet in wb.worksheets for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells}
    assert {f"{trap}{i}" for i, trap in enumerate(traps)} <= texts and set(traps) <= texts
