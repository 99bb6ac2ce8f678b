"""不予受理 in the leaders' report: counted by reason for the period, traceable to its cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from duban.reports import build_report, cases_behind
from duban.reports.html import render_report_html
from duban.reports.xlsx import write_xlsx
from duban.services import CaseService
from tests.factories import DISPATCHER, SUPERVISOR, advance, registered, world


@pytest.fixture
def declining_month(engine: Engine):  # type: ignore[no-untyped-def]
    ctx = world(engine, start="2023-11-01 09:00")
    service = CaseService(ctx)
    numbers = [registered(ctx, title=f"第{i}件反映") for i in range(4)]
    for number, reason in zip(numbers, ("legal_channel", "legal_channel", "outside_remit"), strict=False):
        service.act(number, "decline", actor=DISPATCHER, form={"decline_reason": reason})
    advance(ctx, days=2)
    service.act(numbers[2], "reinstate", actor=SUPERVISOR, form={"reason": "补充了材料"})
    return ctx, numbers, build_report(ctx, "2023-11", now=ctx.now())


def test_declines_are_counted_by_reason_and_reinstatements_apart(declining_month) -> None:  # type: ignore[no-untyped-def]
    ctx, numbers, report = declining_month
    assert report.events["declined"].value == 3
    assert report.events["reinstated"].value == 1
    by_reason = {k: f.value for k, f in report.declines.items()}
    assert by_reason == {"outside_remit": 1, "no_concrete_matter": 0, "legal_channel": 2, "concluded": 0}
    behind = cases_behind(ctx, report.declines["legal_channel"].trace, now=ctx.now())
    assert behind == sorted((n, 1) for n in numbers[:2])
    assert report.as_dict()["declines"]["legal_channel"]["value"] == 2


def test_the_page_and_the_workbook_show_the_declines_by_reason(declining_month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, report = declining_month
    html = render_report_html(report)
    assert "不予受理" in html and "已进入或应当通过诉讼、仲裁、行政复议等法定途径解决" in html
    sheet_rows = [[c.value for c in row] for ws in load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))
                  for row in ws.iter_rows()]
    legal = "其中：已进入或应当通过诉讼、仲裁、行政复议等法定途径解决"
    assert [legal, None, None, None, 2, "件次"] in sheet_rows
    assert any(row[0] == "不予受理" and row[4] == 3 for row in sheet_rows if len(row) > 4)
