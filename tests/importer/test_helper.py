"""A ledger of several batches read on two cores: a helper process parses, checks and builds the
next batch while this one is written, and what is stored and reported is what one process gives."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from duban.importer import import_file
from duban.models import AuditEvent, Case, ImportedRow
from duban.services import ServiceContext
from duban.services.auditrows import covered_tables, digested, row_digest
from duban.services.cases import CaseService
from duban.services.integrity import verify
from tests.factories import CLERK, world
from tests.importer.ledger import counts, refusing, row, xlsx

TITLE = "七里河区某小区停水三天无人处理"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-10 09:00")


def ledger(tmp_path: Path) -> Path:
    return xlsx(tmp_path / "ledger.xlsx", [
        row(1, 标题=TITLE), row(2), row(3, 渠道="飞鸽传书"),  # refused by the ledger's reading
        row(4, 受理单位编码="GS-XX"),  # refused by the service (checked in the helper, then here)
        row(5, 标题="司马青山反映工程款被拖欠", 反映人="司马青山", 联系电话="13912345678"),
        row(6, 受理时间="2023-06-01 09:00"),  # received after today
        row(7, 标题=TITLE, 反映人="欧阳明轩"),  # repeats row 1, two batches before it
        row(8, 被反映单位=None, 被反映单位编码=None), row(9), row(10)])


def stored(ctx: ServiceContext) -> list[tuple[object, ...]]:
    with Session(ctx.engine) as session:
        return [tuple(r) for r in session.exec(
            select(ImportedRow.row, Case.number, Case.title_redacted, Case.deadline_on, Case.audit_hash)
            .join(Case, col(Case.id) == col(ImportedRow.case_id)).order_by(col(ImportedRow.row)))]


@pytest.mark.parametrize("helpers", [0, 1])
def test_a_file_of_several_batches_goes_in_the_same_with_or_without_the_helper(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: int) -> None:
    monkeypatch.setattr("duban.importer.run.BATCH", 3)
    path = ledger(tmp_path)
    result = import_file(ctx, path, actor=CLERK, helpers=helpers)
    assert (result.rows, result.created, result.linked, result.rejected) == (10, 6, 1, 3)
    assert [(e.row, e.column) for e in result.errors] == [(4, "渠道"), (5, "受理单位编码"), (7, "受理时间")]
    rows = stored(ctx)
    assert [r[0] for r in rows] == [2, 3, 6, 8, 9, 10, 11]
    assert rows[0][1] == "GS-2023-00001" and rows[3][4] == rows[0][4]  # row 8 linked to row 2's case
    assert [r[1] for r in rows if r[0] != 8][-1] == "GS-2023-00006"
    assert "司马青山" not in rows[2][2]  # the twin cut in the helper
    report = verify(ctx, workers=1)
    assert report.intact, report.findings
    assert (report.cases, report.events) == (6, 7)  # six registrations, one link
    assert import_file(ctx, path, actor=CLERK, helpers=helpers).skipped == 7


def test_the_helper_builds_exactly_what_the_writer_would(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    """The same file into two fresh databases, with and without the helper: the same cases and
    the same sealed events, byte for byte."""
    if engine.dialect.name != "sqlite":
        pytest.skip("a second database of the same kind is made on SQLite")
    from duban.db import create_all, make_engine

    monkeypatch.setattr("duban.importer.run.BATCH", 4)
    path = ledger(tmp_path)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    create_all(other)
    other_ctx = world(other, start="2023-03-10 09:00")
    import_file(ctx, path, actor=CLERK, helpers=1)
    import_file(other_ctx, path, actor=CLERK, helpers=0)

    def events(c: ServiceContext) -> list[tuple[object, ...]]:
        with Session(c.engine) as session:
            return [(e.case_id, e.seq, e.hash, e.rows, e.facts) for e in session.exec(
                select(AuditEvent).order_by(col(AuditEvent.case_id), col(AuditEvent.seq)))]

    assert events(ctx) == events(other_ctx)
    assert stored(ctx) == stored(other_ctx)
    other.dispose()


def test_a_row_the_database_refuses_with_the_helper_is_reported_and_the_rest_go_in(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("duban.importer.run.BATCH", 2)
    path = xlsx(tmp_path / "ledger.xlsx", [row(n) for n in range(1, 6)])
    with refusing(ctx.engine, "反映人3"):
        result = import_file(ctx, path, actor=CLERK, helpers=1)
    assert (result.created, result.rejected) == (4, 1) and result.errors[0].row == 4
    assert counts(ctx.engine)["AuditEvent"] == 4
    assert verify(ctx, workers=1).intact


def test_rows_imported_before_are_not_checked_again_by_the_helper(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("duban.importer.run.BATCH", 2)
    path = xlsx(tmp_path / "ledger.xlsx", [row(n) for n in range(1, 6)])
    assert import_file(ctx, path, actor=CLERK, helpers=1).created == 5

    def prepare(*args: object, **kwargs: object) -> None:
        raise AssertionError("a row imported before was checked again")

    monkeypatch.setattr(CaseService, "prepare", prepare)  # the helper is forked with it
    again = import_file(ctx, path, actor=CLERK, helpers=1)
    assert (again.created, again.skipped, again.errors) == (0, 5, [])


def test_a_digest_taken_in_the_helper_travels_with_its_row() -> None:
    values = {"name": "司马青山", "phone": "13912345678", "email": "", "address": "",
              "real_name": True, "consent_disclose": False}
    row_ = pickle.loads(pickle.dumps(digested("complainants", values, "sha256")))
    assert row_ == values and row_.alg == "sha256"
    assert row_.digest == row_digest(covered_tables()["complainants"], values, "sha256")
