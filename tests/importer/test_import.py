"""Excel and CSV ledgers in: good rows registered through the service, bad rows reported, no row twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.importer import import_file
from duban.models import Case, Complainant
from duban.services import ServiceContext
from tests.factories import CLERK, world
from tests.importer.ledger import counts, row, write_csv, xlsx


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-10 09:00")


def test_good_rows_are_registered_and_bad_rows_reported_by_row_column_and_reason(
        ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [row(1), row(2, 渠道="飞鸽传书"), row(3, 标题=""), row(4, 受理时间="三月初"),
            row(5, 实名="也许"), row(6, 受理单位编码="GS-XX"), row(7, 渠道="来信", 优先级="民生急难")]
    seen: list[tuple[int, int]] = []
    result = import_file(ctx, xlsx(tmp_path / "ledger.xlsx", rows), actor=CLERK,
                         progress=lambda done, total: seen.append((done, total)))
    assert (result.rows, result.created, result.rejected) == (7, 2, 5)
    errors = {(e.row, e.column) for e in result.errors}
    # Row numbers as Excel shows them: the header is row 1, so ledger row n is on line n + 1.
    assert errors == {(3, "渠道"), (4, "标题"), (5, "受理时间"), (6, "实名"), (7, "受理单位编码")}
    assert all(e.reason for e in result.errors)
    channel = next(e.reason for e in result.errors if e.column == "渠道")
    assert "飞鸽传书" not in channel and "监督电话" in channel  # what is allowed, never what was given
    assert seen[-1] == (7, 7)
    with Session(ctx.engine) as session:
        letter = session.exec(select(Case).where(Case.channel == "letter")).one()
        assert letter.priority == "livelihood"
        assert letter.received_at == dt.datetime(2023, 3, 1, 1, 7, tzinfo=dt.UTC)  # 09:07 Beijing
        complainant = session.get(Complainant, letter.complainant_id)
        assert complainant is not None and complainant.real_name and complainant.name == "反映人7"


def test_importing_the_same_file_again_creates_nothing(ctx: ServiceContext, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "ledger.xlsx", [row(n) for n in range(1, 6)])
    first = import_file(ctx, path, actor=CLERK)
    before = counts(ctx.engine)
    again = import_file(ctx, path, actor=CLERK)
    assert first.created == 5 and (again.created, again.linked, again.skipped) == (0, 0, 5)
    assert counts(ctx.engine) == before
    # The ledger id decides, not the wording: a corrected title is still the same row.
    edited = xlsx(tmp_path / "edited.xlsx", [row(1, 标题="城关区某工程拖欠工程款（更正）")])
    assert import_file(ctx, edited, actor=CLERK).skipped == 1
    assert counts(ctx.engine) == before


def test_rows_without_a_ledger_id_are_known_by_their_content(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [row(n, 台账编号=None) for n in range(1, 4)]
    path = write_csv(tmp_path / "ledger.csv", rows)
    assert import_file(ctx, path, actor=CLERK).created == 3
    again = import_file(ctx, path, actor=CLERK)
    assert (again.created, again.skipped) == (0, 3)


def test_a_gb18030_csv_from_chinese_excel_is_read(ctx: ServiceContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", [row(1), row(2)], encoding="gb18030")
    result = import_file(ctx, path, actor=CLERK)
    assert result.created == 2 and not result.errors


def test_a_row_failing_midway_leaves_nothing_of_itself(ctx: ServiceContext, tmp_path: Path) -> None:
    # The complainant is written before the subject's org is looked up; an unknown org must
    # take the complainant (and everything else of the row) back with it.
    path = xlsx(tmp_path / "ledger.xlsx", [row(1), row(2, 被反映单位编码="GS-NOWHERE"), row(3)])
    result = import_file(ctx, path, actor=CLERK)
    assert result.created == 2
    assert [(e.row, e.column) for e in result.errors] == [(3, "被反映单位编码")]
    assert counts(ctx.engine) == {"Case": 2, "Complainant": 2, "Subject": 2, "AuditEvent": 2,
                                  "ImportedRow": 2}


def test_a_racing_import_of_the_same_row_creates_nothing_twice(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = xlsx(tmp_path / "ledger.xlsx", [row(1)])
    assert import_file(ctx, path, actor=CLERK).created == 1
    before = counts(ctx.engine)
    # As if another import had not yet committed when this one looked: the unique key in
    # `imports` stops it inside the row's transaction, and the case it had written goes too.
    monkeypatch.setattr("duban.importer.run._existing_keys", lambda ctx, keys: set())
    again = import_file(ctx, path, actor=CLERK)
    assert (again.created, again.skipped, again.errors) == (0, 1, [])
    assert counts(ctx.engine) == before


def test_a_row_repeating_an_open_case_is_linked_not_opened_twice(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [row(1), row(2, 标题=row(1)["标题"], 反映人="另一位反映人")]
    result = import_file(ctx, xlsx(tmp_path / "ledger.xlsx", rows), actor=CLERK)
    assert (result.created, result.linked) == (1, 1)
    with Session(ctx.engine) as session:
        case = session.exec(select(Case)).one()
        assert case.repeat_count == 1


def test_duplicate_rows_within_one_file_are_reported(ctx: ServiceContext, tmp_path: Path) -> None:
    result = import_file(ctx, xlsx(tmp_path / "ledger.xlsx", [row(1), row(2), row(1)]), actor=CLERK)
    assert result.created == 2
    assert [(e.row, e.column) for e in result.errors] == [(4, "台账编号")]
    assert "第2行" in result.errors[0].reason


def test_a_file_without_the_required_columns_is_refused_whole(ctx: ServiceContext, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "ledger.xlsx", [row(1)], headers=["台账编号", "反映人"])
    result = import_file(ctx, path, actor=CLERK)
    assert result.created == 0 and result.errors[0].row == 1
    assert "标题" in result.errors[0].reason and "受理单位编码" in result.errors[0].reason
    assert counts(ctx.engine)["Case"] == 0


def test_aliases_and_a_default_office_fill_in_for_missing_columns(
        ctx: ServiceContext, tmp_path: Path) -> None:
    headers = ["事项", "反映人姓名", "手机", "来源"]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(headers)
    ws.append(["七里河区某小区停水三天", "张三", 13900001111, "网上"])
    wb.save(tmp_path / "mini.xlsx")
    result = import_file(ctx, tmp_path / "mini.xlsx", actor=CLERK, default_office="GS-LZ")
    assert result.created == 1, result.errors
    with Session(ctx.engine) as session:
        case = session.exec(select(Case)).one()
        complainant = session.get(Complainant, case.complainant_id)
    assert case.level == "city" and case.channel == "online"
    assert complainant is not None and complainant.phone == "13900001111"


@pytest.mark.parametrize("when", [dt.datetime(2002, 6, 1, 9, 0), "2003-12-31 10:00", "2001年5月1日",
                                  "1999/01/01", "0001-01-01 00:00", "2046-01-02"])
def test_a_date_outside_the_calendar_is_a_row_error_and_the_file_goes_on(
        ctx: ServiceContext, tmp_path: Path, when: Any) -> None:
    rows = [row(1), row(2, 受理时间=when), row(3)]
    result = import_file(ctx, xlsx(tmp_path / "ledger.xlsx", rows), actor=CLERK)
    assert (result.rows, result.created, result.rejected) == (3, 2, 1)
    [error] = result.errors
    assert (error.row, error.column) == (3, "受理时间") and "2004" in error.reason
    assert str(when)[:4] not in error.reason.replace("2004", "")  # the date given is not repeated
