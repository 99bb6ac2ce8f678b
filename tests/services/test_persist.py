"""Case rows are written by hand (duban.services.persist): every change lands, once, or none does."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from duban.errors import StaleCase
from duban.models import AuditEvent, Case, HandlingReport
from duban.services import CaseService, ServiceContext, persist
from duban.services.persist import WRITE_COLUMNS, fetch_cases
from duban.services.unitofwork import DubanSession, NoUnitOfWork
from tests.factories import REPORTED, SUPERVISOR, transferred, unit_actor, world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def stored(ctx: ServiceContext, number: str) -> dict[str, object]:
    """The row as stored, less the raw texts an action never loads (persist.WRITE_COLUMNS)."""
    with Session(ctx.engine) as session:
        row = session.connection().execute(
            select(*WRITE_COLUMNS).where(Case.__table__.c.number == number)).mappings().one()  # type: ignore[attr-defined]
        return dict(row)


def columns_of(case: Case) -> dict[str, object]:
    return {column.name: getattr(case, column.name) for column in WRITE_COLUMNS}


def test_what_an_action_returns_is_what_is_stored(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    for action, actor, form in (("submit_report", unit, {**REPORTED, "text": "已办结"}),
                                ("send_back", SUPERVISOR, {"reasons": "事实不清"}),
                                ("submit_report", unit, {**REPORTED, "text": "再报"}),
                                ("approve", SUPERVISOR, {})):
        case = service.act(number, action, actor=actor, form=form)
        assert columns_of(case) == stored(ctx, number), action
    assert case.state == "verified" and case.return_count == 1 and case.audit_seq == 6
    assert "title" not in case.__dict__ and "summary" not in case.__dict__  # never loaded


def test_an_action_writes_the_case_row_once(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    updates: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        # (on PostgreSQL the UPDATE is inside the statement that also inserts the audit event)
        if "UPDATE CASES" in statement.upper():
            updates.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                             form={**REPORTED, "text": "已办结"})
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
    assert len(updates) == 1
    # only what changed is set: the title, summary and number are left alone
    assert "title" not in updates[0] and "number" not in updates[0]


def test_a_new_cases_insert_names_what_it_fills_within_what_psycopg_prepares(
        ctx: ServiceContext) -> None:
    inserts: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.upper().startswith("INSERT INTO CASES "):
            inserts.append((statement, parameters))

    event.listen(ctx.engine, "before_cursor_execute", keep)
    try:
        number = transferred(ctx)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", keep)
    ((statement, parameters),) = inserts
    # psycopg neither caches nor prepares a statement of more than 50 parameters
    assert len(parameters) <= 50  # type: ignore[arg-type]
    assert "unit_id" not in statement.split("VALUES")[0]  # None at registration: left to its DEFAULT
    row = stored(ctx, number)
    assert row["state"] == "transferred" and row["closed_at"] is None and row["review_level"] is None


def test_a_row_changed_under_a_writer_stops_the_whole_transaction(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    before = stored(ctx, number)
    service = CaseService(ctx)
    with pytest.raises(StaleCase) as caught:
        with service.transaction() as session:
            case = service.load_in(session, number, for_write=True)
            service.act_in(session, case, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                           form={**REPORTED, "text": "已办结"})
            # someone else's write to the row after it was loaded (row locks prevent this in
            # the service; the version guard is the last line)
            session.connection().execute(text("UPDATE cases SET version = version + 1 WHERE id = :id"),
                                         {"id": case.id})
    assert caught.value.expected == before["version"]
    assert stored(ctx, number) == before  # not even the other write: one transaction
    with Session(ctx.engine) as session:
        assert session.execute(select(func.count()).select_from(HandlingReport)).scalar_one() == 0
        events = session.execute(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.case_id == before["id"])).scalar_one()
        assert events == before["audit_seq"]


def test_tracked_cases_are_written_when_a_duban_session_commits(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    with DubanSession(ctx.engine) as session:
        (case,) = fetch_cases(session, select(Case).where(Case.number == number), for_write=True)
        case.warning = "red"
        session.commit()
    assert stored(ctx, number)["warning"] == "red"


def test_a_plain_session_cannot_track_a_case_for_writing(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    with Session(ctx.engine) as session, pytest.raises(NoUnitOfWork):
        fetch_cases(session, select(Case).where(Case.number == number), for_write=True)
    with Session(ctx.engine) as session:  # reading through one is as before
        (case,) = fetch_cases(session, select(Case).where(Case.number == number), for_write=False)
        assert case.number == number


def test_the_persistence_listener_is_on_dubans_sessions_only() -> None:
    for name, listener in (("before_commit", persist._write_tracked),
                           ("after_rollback", persist._forget_tracked),
                           ("after_commit", persist._commit_done)):
        assert event.contains(DubanSession, name, listener)
        assert not event.contains(OrmSession, name, listener)
        assert not event.contains(Session, name, listener)


def test_a_rolled_back_transaction_forgets_its_tracked_cases(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    with DubanSession(ctx.engine) as session:
        (case,) = fetch_cases(session, select(Case).where(Case.number == number), for_write=True)
        case.warning = "red"
        session.rollback()
        session.commit()
    assert stored(ctx, number)["warning"] != "red"


def test_cases_changed_alike_are_written_by_one_statement(ctx: ServiceContext) -> None:
    numbers = [transferred(ctx, title=f"事项{i}") for i in range(5)]
    executions: list[object] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE CASES"):
            executions.append(executemany)

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        with DubanSession(ctx.engine) as session:
            cases = fetch_cases(session, select(Case).where(Case.number.in_(numbers)), for_write=True)  # type: ignore[attr-defined]
            for case in cases:
                case.warning = "red"
            session.commit()
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
    assert executions == [True]  # one executemany for the five
    assert all(stored(ctx, number)["warning"] == "red" for number in numbers)


def test_one_stale_case_in_a_batch_is_named_and_nothing_is_written(ctx: ServiceContext) -> None:
    numbers = [transferred(ctx, title=f"事项{i}") for i in range(3)]
    with pytest.raises(StaleCase) as caught:
        with CaseService(ctx).transaction() as session:
            cases = fetch_cases(session, select(Case).where(Case.number.in_(numbers)), for_write=True)  # type: ignore[attr-defined]
            for case in cases:
                case.warning = "red"
            session.connection().execute(text("UPDATE cases SET version = version + 5 WHERE number = :n"),
                                         {"n": numbers[1]})
    assert caught.value.case_number == numbers[1]
    assert all(stored(ctx, number)["warning"] != "red" for number in numbers)
