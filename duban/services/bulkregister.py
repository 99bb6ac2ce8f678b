"""Registering many complaints in one transaction: the ledger import's path.

Each complaint meets exactly the checks of `CaseService.register` (`CaseService.prepare`) and is
written as `CaseService.register_intake` writes it; only the way the rows go in differs. A run of
new cases is written by one statement per table (complainants, subjects, cases, audit events)
and takes its numbers by three statements (`CaseService.take_numbers`), instead of ten
statements a case.

A complaint that may repeat an open case (it names a `repeat_of`, or its matter key is that of an
open case or of an earlier complaint in the batch) goes through `register_intake` itself, once
the run before it is written: it finds, and is linked to, a case registered earlier in the same
batch exactly as it would be a day later.

A complaint that fails a check is returned as its error and the others go in. One the database
refuses (a constraint, a value it cannot store) aborts the transaction on PostgreSQL: the batch
is then rolled back and each complaint registered again in a transaction of its own, so that
only the refused one fails. A row's savepoint would cost every batch two statements a row to
spare the rare failing one a second pass.

The checks and the building of each case need nothing written before them (`prepare_many`): the
importer runs them for the next batch in a second process while this one is written. The writer
then gives each case its id, number and rows' ids and seals its registration event, as here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, distinct, func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Session, SQLModel, col

from duban.clock import local_date
from duban.errors import DubanError
from duban.models import Case, CaseCreate, Complainant, Subject, search
from duban.services.audit import event_row, insert_events, keys_of
from duban.services.auditkeys import default_keyring
from duban.services.auditrows import Digested, cover, digested, digested_parts, row_parts
from duban.services.cases import (
    CaseService,
    Intake,
    Registered,
    complainant_values,
    registration_data,
    subject_values,
)
from duban.services.context import Actor
from duban.services.directory import OrgInfo
from duban.services.driver import Prepared, inserting
from duban.services.persist import column_defaults, save_tracked
from duban.states.definition import OPEN_STATES

# What a complaint came to: its registration, or why it was not registered (a DubanError for a
# complaint that failed a check, the database's error for one it refused).
Outcome = Registered | Exception
# Runs in the batch's transaction with what was registered (index in the input, registration).
Record = Callable[[Session, list[tuple[int, Registered]]], None]
REFUSED = (IntegrityError, DataError)  # what a row can make the database refuse

_CASES = Case.__table__  # type: ignore[attr-defined]
_CASE_COLUMNS = [c.name for c in _CASES.c]
_CASE_ATTRS = frozenset(_CASE_COLUMNS)  # what new_case sets on a Case (its columns' values)
_CASE_MANAGER = manager_of_class(Case)
_WRITERS = ("number", "subject_id", "complainant_id")  # case columns the writer gives
_OPEN_KEYS = select(distinct(_CASES.c.matter_key)).where(
    _CASES.c.matter_key.in_(bindparam("keys", expanding=True)),
    col(Case.state).in_(OPEN_STATES))


@dataclass(frozen=True)
class Ready:
    """A complaint that passed `CaseService.prepare`, with the case it opens if it is new (its
    columns but the id, number, subject and complainant, which the writer gives)."""

    intake: Intake
    case: dict[str, Any]
    complainant: Digested
    subject: Digested | None
    parts: list[str | None]  # the case row's digest but for the writer's columns (row_parts)


def prepare_many(service: CaseService, complaints: Sequence[CaseCreate], *, actor: Actor,
                 now: dt.datetime) -> list[Ready | None]:
    """Check and build each complaint as `register_many` would, writing and reading nothing of the
    cases; None for one that fails a check (`register_many` checks it again and reports why)."""
    session = Session(service.ctx.engine)  # only its bind: the checks read the org directory
    alg = (service.ctx.audit_keys or default_keyring()).alg  # as audit.keys_of takes it
    ready: list[Ready | None] = []
    for data in complaints:
        try:
            intake = service.prepare(session, data, actor=actor, now=now)
        except DubanError:
            ready.append(None)
            continue
        case = service.new_case(intake, number="", subject_id=None, complainant_id=0)
        subject = _subject_row(intake)
        draft = {k: v for k, v in case.__dict__.items() if k in _CASE_ATTRS}
        ready.append(Ready(intake, draft, digested("complainants", _complainant_row(intake), alg),
                           None if subject is None else digested("subjects", subject, alg),
                           row_parts("cases", draft, _WRITERS)))
    return ready


def register_many(service: CaseService, complaints: Sequence[CaseCreate], *, actor: Actor,
                  record: Record | None = None, now: dt.datetime | None = None,
                  prepared: Sequence[Ready | None] | None = None) -> list[Outcome]:
    """Register `complaints` in one transaction; an outcome for each, in their order.

    `record` runs in the same transaction with what was registered (the importer writes its
    ledger rows there), so a registration and its record commit together or not at all.
    `prepared` holds what `prepare_many` made of them with the same `actor` and `now`.
    """
    now = now or service.ctx.now()
    try:
        with service.transaction() as session:
            outcomes = _register(service, session, complaints, actor=actor, now=now,
                                 prepared=prepared)
            done = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Registered)]
            if record is not None and done:
                record(session, done)
            return outcomes
    except (*REFUSED, DubanError):
        # The database refused a row (or a check failed once the batch had begun to write, which
        # the checks made before writing are there to prevent): each complaint again on its own.
        return [_alone(service, i, data, actor=actor, record=record)
                for i, data in enumerate(complaints)]


def _alone(service: CaseService, index: int, data: CaseCreate, *, actor: Actor,
           record: Record | None) -> Outcome:
    """One complaint in a transaction of its own (the batch it came in was refused)."""

    def also(session: Session, registered: Registered) -> None:
        if record is not None:
            record(session, [(index, registered)])

    try:
        return service.register(data, actor=actor, also=also)
    except (DubanError, *REFUSED) as exc:
        return exc


def _register(service: CaseService, session: Session, complaints: Sequence[CaseCreate], *,
              actor: Actor, now: dt.datetime, prepared: Sequence[Ready | None] | None) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(complaints)
    intakes: list[tuple[int, Intake]] = []
    drafts: dict[int, Ready] = {}
    for i, data in enumerate(complaints):
        ready = prepared[i] if prepared is not None else None
        if ready is not None:
            intakes.append((i, ready.intake))
            drafts[i] = ready
            continue
        try:
            intakes.append((i, service.prepare(session, data, actor=actor, now=now)))
        except DubanError as exc:
            outcomes[i] = exc
    keys = sorted({intake.key for _, intake in intakes if intake.key})
    open_keys = set(session.connection().execute(_OPEN_KEYS, {"keys": keys}).scalars()) if keys \
        else set()
    run: list[tuple[int, Intake]] = []
    for i, intake in intakes:
        if intake.data.repeat_of or intake.key in open_keys:
            _write_new(service, session, run, actor=actor, outcomes=outcomes, drafts=drafts)
            run = []
            try:
                target = service.repeat_target(session, intake, actor=actor)
            except DubanError as exc:  # raised before anything of it is written
                outcomes[i] = exc
                continue
            outcomes[i] = service.register_intake(session, intake, actor=actor, target=target)
            save_tracked(session)  # a later complaint of the batch may link to the same case
        else:
            run.append((i, intake))
        if intake.key:
            open_keys.add(intake.key)  # a later complaint of the same matter may repeat this one
    _write_new(service, session, run, actor=actor, outcomes=outcomes, drafts=drafts)
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def _write_new(service: CaseService, session: Session, run: list[tuple[int, Intake]], *,
               actor: Actor, outcomes: list[Outcome | None], drafts: dict[int, Ready]) -> None:
    """Write a run of complaints that open new cases, each as `register_intake` would.

    The rows' ids are taken first (`_new_ids`), so each case goes in sealed by its registration
    event, by one plain multi-row INSERT per table.
    """
    if not run:
        return
    ready = [drafts.get(i) for i, _ in run]
    complainants = [_complainant_row(intake) if r is None else r.complainant
                    for r, (_, intake) in zip(ready, run, strict=True)]
    complainant_ids = _new_ids(session, Complainant, len(complainants))
    subjects = {k: values for k, (r, (_, intake)) in enumerate(zip(ready, run, strict=True))
                if (values := _subject_row(intake) if r is None else r.subject) is not None}
    subject_ids = dict(zip(subjects, _new_ids(session, Subject, len(subjects)), strict=True))
    numbers = _numbers(service, session, [intake for _, intake in run])
    case_ids = _new_ids(session, Case, len(run))
    alg = keys_of(session).alg
    cases, events = [], []
    for k, (i, intake) in enumerate(run):
        draft, registered = ready[k], None
        if draft is None:
            case = service.new_case(intake, number=numbers[k], subject_id=subject_ids.get(k),
                                    complainant_id=complainant_ids[k])
        else:  # built by prepare_many: what new_case makes, given these
            values = {**draft.case, "number": numbers[k], "subject_id": subject_ids.get(k),
                      "complainant_id": complainant_ids[k]}
            case = _CASE_MANAGER.new_instance()
            case.__dict__.update(values)
            registered = digested_parts("cases", draft.parts, values, alg)
        set_committed_value(case, "id", case_ids[k])
        # The rows the event names, as persist.insert_row covers them for register_intake.
        cover(session, "complainants", complainants[k], complainant_ids[k])
        if k in subjects:
            cover(session, "subjects", subjects[k], subject_ids[k])
        events.append(event_row(session, case, at=intake.received_at, actor=actor.name,
                                actor_role=actor.role, action="register", from_state=None,
                                data=registration_data(intake, case), registered=registered))
        cases.append(case)
        outcomes[i] = Registered(case, False)
    _insert(session, Complainant, [{"id": n, **row} for n, row in zip(complainant_ids, complainants,
                                                                      strict=True)])
    _insert(session, Subject, [{"id": subject_ids[k], **row} for k, row in subjects.items()])
    # Their search index rows by one statement after the cases, not a trigger per case.
    with search.new_cases_indexed(session.connection(), case_ids):
        _insert(session, Case, [{name: case.__dict__[name] for name in _CASE_COLUMNS} for case in cases])
    insert_events(session, events)


def _complainant_row(intake: Intake) -> dict[str, Any]:
    return {**_defaults(Complainant), **complainant_values(intake.data)}


def _subject_row(intake: Intake) -> dict[str, Any] | None:
    values = subject_values(intake)
    return None if values is None else {**_defaults(Subject), **values}


def _numbers(service: CaseService, session: Session, intakes: list[Intake]) -> list[str]:
    """Case numbers for new cases, in their order (the numbers of each office's year ascending)."""
    wanted: dict[tuple[OrgInfo, int], int] = {}
    years = [local_date(intake.received_at).year for intake in intakes]
    for intake, year in zip(intakes, years, strict=True):
        wanted[intake.office, year] = wanted.get((intake.office, year), 0) + 1
    taken = {k: iter(numbers) for k, numbers in service.take_numbers(session, wanted).items()}
    return [next(taken[intake.office, year]) for intake, year in zip(intakes, years, strict=True)]


def _new_ids(session: Session, model: type[SQLModel], count: int) -> list[int]:
    """Ids for `count` new rows of the model's table, taken as an INSERT would take them.

    PostgreSQL: from the id column's sequence, in one statement. SQLite: the ids after the largest
    (what SQLite itself gives a new row; the batch holds the write lock, so nobody takes them
    meanwhile). A multi-row INSERT … RETURNING would give them too, but in no set order on SQLite
    (SQLAlchemy then inserts row by row) and at the cost of a statement rebuilt per batch on
    PostgreSQL.
    """
    if not count:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        return list(conn.execute(select(func.nextval(sequence)).select_from(
            func.generate_series(1, count))).scalars())
    largest = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(largest + 1, largest + count + 1))


def _insert(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if rows:
        _INSERTS[model].run_many(session, rows)


def _inserting(model: type[SQLModel]) -> Prepared:
    """Every column, the id included, compiled once and run at driver level: SQLAlchemy's own
    executemany converted each row's parameters in Python (docs/bench.md)."""
    table = model.__table__  # type: ignore[attr-defined]
    return inserting(table, [c.name for c in table.c], returning_id=False)


_BATCHED: tuple[type[SQLModel], ...] = (Complainant, Subject, Case)
_INSERTS = {model: _inserting(model) for model in _BATCHED}


@cache
def _defaults(model: type[SQLModel]) -> dict[str, Any]:
    return column_defaults(model)
