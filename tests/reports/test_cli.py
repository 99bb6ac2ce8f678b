"""`duban report` and `duban board` as an office runs them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from duban.cli import app
from tests.cli_runner import run, runner
from tests.reports import scenario


@pytest.fixture
def november(engine: Engine, settings_env: Callable[..., None]) -> Iterator[scenario.November]:
    world = scenario.build(engine)
    settings_env(DUBAN_DATABASE_URL=engine.url.render_as_string(hide_password=False))
    yield world


def test_the_report_prints_in_the_terminal(november: scenario.November) -> None:
    out = run("report", "--period", "2023-11", "--office", "GS")
    assert "2023年11月，省市县三级共受理社会监督意见9件" in out
    assert "九、承办单位排名" in out


def test_the_report_writes_xlsx_and_html(november: scenario.November, tmp_path: Path) -> None:
    out = run("report", "-p", "2023-11", "--xlsx", str(tmp_path / "r.xlsx"),
              "--html", str(tmp_path / "r.html"))
    assert "r.xlsx" in out and "r.html" in out
    assert "台账" in load_workbook(tmp_path / "r.xlsx", read_only=True).sheetnames
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")


def test_cases_lists_the_cases_behind_a_figure(november: scenario.November) -> None:
    out = run("report", "-p", "2023-11", "--cases", "overdue")
    assert november.numbers["C"] in out and november.numbers["I"] in out
    assert "overdue：2（2件）" in out
    out = run("report", "-p", "2023-11", "--cases", "received", "--where", "level=city")
    assert november.numbers["K"] in out and "received：1（1件）" in out


def test_a_bad_period_is_one_readable_line(november: scenario.November) -> None:
    result = runner.invoke(app, ["report", "--period", "March"])
    assert result.exit_code == 1 and "统计期间填写有误" in result.output
    assert len(result.output.splitlines()) == 1


def test_the_board_prints_as_of_a_moment(november: scenario.November) -> None:
    out = run("board", "--at", "2023-11-30 09:00")
    assert "预警看板" in out and "城关区水务局" in out
