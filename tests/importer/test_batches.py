"""Ledger rows registered a batch a transaction: bad rows reported in place, the rest of the batch
in, repeats within a batch linked, twins redacted, the trail verifying, nothing twice on re-run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from duban.importer import import_file
from duban.importer.run import ImportResult
from duban.models import Case, Complainant, ImportedRow, RepeatContact
from duban.services import ServiceContext
from duban.services.integrity import verify
from duban.services.redaction import redact_text
from tests.factories import CLERK, world
from tests.importer.ledger import counts, refusing, row, xlsx


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-10 09:00")


def imported(ctx: ServiceContext, tmp_path: Path, rows: list[dict[str, Any]],
             name: str = "ledger.xlsx") -> ImportResult:
    return import_file(ctx, xlsx(tmp_path / name, rows), actor=CLERK)


@contextmanager
def commits(engine: Engine) -> Iterator[list[int]]:
    """How many transactions commit inside the block (one a batch, unless it was refused)."""
    seen: list[int] = []

    def count(_conn: Any) -> None:
        seen.append(1)

    event.listen(engine, "commit", count)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", count)


def case_of_row(ctx: ServiceContext) -> dict[int, Case]:
    """The case each ledger row (by its row in the file) became or was linked to."""
    with Session(ctx.engine) as session:
        pairs = session.exec(select(ImportedRow.row, Case).join(
            Case, col(Case.id) == col(ImportedRow.case_id))).all()
    return {n: case for n, case in pairs}


def test_bad_rows_in_the_middle_of_a_batch_are_reported_and_the_rest_go_in(
        ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [row(1), row(2),
            row(3, 渠道="飞鸽传书"),  # refused by the ledger's reading
            row(4, 受理单位编码="GS-XX"),  # refused by the service: no such office
            row(5, 被反映单位编码="GS-NOWHERE"),  # ... no such org
            row(6, 受理时间="2023-06-01 09:00"),  # ... received after today
            row(7), row(8)]
    with commits(ctx.engine) as committed:
        result = imported(ctx, tmp_path, rows)
    assert len(committed) == 1  # the bad rows did not send the batch back row by row
    assert (result.rows, result.created, result.rejected) == (8, 4, 4)
    # Each by its row as Excel shows it (the header is row 1) and the cell to fix.
    assert [(e.row, e.column) for e in result.errors] == [
        (4, "渠道"), (5, "受理单位编码"), (6, "被反映单位编码"), (7, "受理时间")]
    assert counts(ctx.engine) == {"Case": 4, "Complainant": 4, "Subject": 4, "AuditEvent": 4,
                                  "ImportedRow": 4}
    # The good rows in file order, numbered without a gap where the bad ones were.
    numbers = {n: case.number for n, case in case_of_row(ctx).items()}
    assert numbers == {2: "GS-2023-00001", 3: "GS-2023-00002", 8: "GS-2023-00003",
                       9: "GS-2023-00004"}


def test_a_row_the_database_refuses_is_reported_and_the_rest_of_its_batch_goes_in(
        ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [row(n) for n in range(1, 6)]
    with refusing(ctx.engine, "反映人3"):
        result = imported(ctx, tmp_path, rows)
    assert (result.created, result.skipped, result.rejected) == (4, 0, 1)
    [error] = result.errors
    assert error.row == 4 and "数据库拒收" in error.reason
    assert "反映人3" not in error.reason  # what the row holds is never repeated in a report
    assert counts(ctx.engine) == {"Case": 4, "Complainant": 4, "Subject": 4, "AuditEvent": 4,
                                  "ImportedRow": 4}
    again = imported(ctx, tmp_path, rows)  # the refused row, once the database takes it
    assert (again.created, again.skipped, again.errors) == (1, 4, [])


def test_repeats_of_a_row_earlier_in_the_same_batch_are_linked_to_its_case(
        ctx: ServiceContext, tmp_path: Path) -> None:
    title = "七里河区某小区停水三天无人处理"
    # 靳青山: a name the general rules do not know (司马青山也知情 they would: a compound surname)
    rows = [row(1, 标题=title, 反映内容="靳青山也知情。"),
            row(2),
            row(3, 标题=title, 反映人="靳青山", 联系电话="13912345678"),
            row(4, 标题=f"{title}！", 反映人="欧阳明轩"),  # the same matter, however punctuated
            row(5)]
    with commits(ctx.engine) as committed:
        result = imported(ctx, tmp_path, rows)
    assert (result.created, result.linked, result.errors, len(committed)) == (3, 2, [], 1)
    cases = case_of_row(ctx)
    first = cases[2]
    assert cases[4].id == cases[5].id == first.id
    assert (first.repeat_count, first.version, first.audit_seq) == (2, 3, 3)
    assert [cases[n].number for n in (2, 3, 6)] == ["GS-2023-00001", "GS-2023-00002", "GS-2023-00003"]
    # The second complainant joined the case: the case's twins no longer name them.
    assert "靳青山" in redact_text(first.summary)  # not a name the general rules know
    assert "靳青山" not in first.summary_redacted
    with Session(ctx.engine) as session:
        contacts = session.exec(select(RepeatContact).where(RepeatContact.case_id == first.id)).all()
        linked = session.exec(select(ImportedRow.row).where(col(ImportedRow.linked))).all()
    assert len(contacts) == 2 and sorted(linked) == [4, 5]


def test_identity_is_cut_from_the_redacted_twins_of_imported_rows(
        ctx: ServiceContext, tmp_path: Path) -> None:
    # 靳青山 mid-sentence: a name the general rules do not know there (they would at a sentence's
    # start before 反映, 靳青山反映…, or as a compound surname's, 司马青山)
    rows = [row(1), row(2, 标题="工程款被拖欠，靳青山也知情", 反映人="靳青山", 联系电话="13912345678",
                        反映内容="靳青山称可打13912345678联系。"), row(3)]
    assert imported(ctx, tmp_path, rows).created == 3
    case = case_of_row(ctx)[3]
    assert "靳青山" in case.title and "13912345678" in case.summary
    for twin in (case.title_redacted, case.summary_redacted):
        assert "靳青山" not in twin and "13912345678" not in twin
    assert "靳青山" in redact_text(case.title)  # it is the complainant's identity that cuts it
    assert case_of_row(ctx)[2].title_redacted == case_of_row(ctx)[2].title  # nobody named there


def test_the_audit_trail_of_an_import_verifies_and_shows_an_edited_complainant(
        ctx: ServiceContext, tmp_path: Path) -> None:
    title = "七里河区某小区停水三天无人处理"
    rows = [row(1, 标题=title), row(2), row(3, 渠道="飞鸽传书"), row(4, 标题=title, 反映人="欧阳明轩"),
            row(5, 被反映单位=None, 被反映单位编码=None)]
    result = imported(ctx, tmp_path, rows)
    assert (result.created, result.linked, result.rejected) == (3, 1, 1)
    report = verify(ctx, workers=1)
    assert report.intact, report.findings
    assert (report.cases, report.events) == (3, 4)
    with Session(ctx.engine) as session:  # someone edits a complainant the import wrote
        session.exec(update(Complainant).where(col(Complainant.name) == "反映人2")  # type: ignore[call-overload]
                     .values(phone="13000000000"))
        session.commit()
    assert not verify(ctx, workers=1).intact


def test_rerunning_a_file_of_several_batches_adds_nothing(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("duban.importer.run.BATCH", 3)
    title = "七里河区某小区停水三天无人处理"
    rows = [row(1, 标题=title), row(2), row(3), row(4, 渠道="飞鸽传书"), row(5), row(6),
            row(7, 标题=title, 反映人="欧阳明轩"),  # repeats row 1, two batches before it
            row(8)]
    seen: list[tuple[int, int]] = []
    path = xlsx(tmp_path / "ledger.xlsx", rows)
    first = import_file(ctx, path, actor=CLERK, progress=lambda done, total: seen.append((done, total)))
    assert (first.created, first.linked, first.rejected) == (6, 1, 1)
    assert seen == [(3, 8), (6, 8), (8, 8)]  # a batch at a time
    assert case_of_row(ctx)[8].id == case_of_row(ctx)[2].id
    before = counts(ctx.engine)
    again = import_file(ctx, path, actor=CLERK)
    assert (again.created, again.linked, again.skipped, again.rejected) == (0, 0, 7, 1)
    assert counts(ctx.engine) == before
