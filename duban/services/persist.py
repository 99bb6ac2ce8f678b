"""Writing case rows without the ORM's unit of work: one version-guarded UPDATE per changed case.

The unit of work (flush planning, per-object events, statement building) cost more than the
rest of an action together. Cases loaded for writing are therefore detached from the session:
their attribute history still records what changed, and at commit each one is written by a
prebuilt Core UPDATE of exactly those columns, guarded by the version it was loaded with. Rows
an action only adds (reports, reviews…) go in by Core INSERT at once (`insert_row`).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.sql import Executable, Update
from sqlmodel import Session, SQLModel

from duban.errors import StaleCase
from duban.models import AuditEvent, Case
from duban.services.audit import EVENT_COLUMNS, insert_events
from duban.services.auditrows import cover
from duban.services.driver import Prepared, inserting
from duban.services.unitofwork import DubanSession, work_of

_CASES = Case.__table__  # type: ignore[attr-defined]
# What actions, sweeps and callbacks load of a case: everything but the raw texts, which only the
# read door (services/reading.py) reads, and only for those who may see them.
WRITE_COLUMNS = [c for c in _CASES.c if c.name not in ("title", "summary")]
_MANAGER = manager_of_class(Case)
_UPDATES: dict[frozenset[str], Prepared] = {}
_WITH_EVENT: dict[frozenset[str], Prepared] = {}
_EVENT_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
_INSERTS: dict[str, tuple[Prepared, dict[str, Any]]] = {}


_CASE_COLUMNS = [key for key in _CASES.columns.keys() if key != "id"]
# Columns with a default (the database's or SQLAlchemy's, which Core fills in for a column not
# named) are named even when the case holds None: only for the others is NULL what omitting gives.
_DEFAULTED = frozenset(c.name for c in _CASES.c if c.server_default is not None or c.default is not None)
_CASE_INSERTS: dict[frozenset[str], Prepared] = {}


def track(session: Session, case: Case) -> Case:
    """Detach `case` and have its changes written when `session` commits."""
    if case in session:
        session.expunge(case)
    work_of(session).cases[id(case)] = case
    return case


def fetch_cases(session: Session, query: Executable | Prepared, params: dict[str, Any] | None = None,
                *, for_write: bool) -> list[Case]:
    """The cases a `select(Case)` finds, built from Core rows, detached; tracked if for writing.

    Core rows and a detached instance cost about half of what an ORM load into the session does;
    a `Prepared` select (an action's own load) goes straight to the driver.
    """
    if isinstance(query, Prepared):
        rows: Any = query.rows(session, params)
    else:
        rows = session.connection().execute(query, params).mappings()
    cases = [_detached(row) for row in rows]
    if for_write:
        for case in cases:
            track(session, case)
    return cases


def _detached(row: Any) -> Case:
    case = _MANAGER.new_instance()
    case.__dict__.update(row)
    make_transient_to_detached(case)  # history starts here, as if loaded by the ORM
    return case


def insert_row(session: Session, model: type[SQLModel], **values: Any) -> int:
    """Insert a new row now, by Core, with the model's defaults for what is not given; its id.

    For rows an action only adds (reports, reviews, the complainant…): no instance is built.
    """
    table = model.__table__  # type: ignore[attr-defined]
    statement, defaults = _INSERTS.get(table.name) or _insert_for(model)
    row = {**defaults, **values}
    row_id = int(statement.scalar(session, row))
    cover(session, table.name, row, row_id)  # named in the action's audit event
    return row_id


def column_defaults(model: type[SQLModel]) -> dict[str, Any]:
    """The model's defaults for a new row, every column but the id (what `insert_row` fills in)."""
    table = model.__table__  # type: ignore[attr-defined]
    return {name: info.get_default(call_default_factory=True)
            for name, info in model.model_fields.items() if name in table.columns and name != "id"}


def _insert_for(model: type[SQLModel]) -> tuple[Prepared, dict[str, Any]]:
    table = model.__table__  # type: ignore[attr-defined]
    defaults = column_defaults(model)
    _INSERTS[table.name] = (inserting(table, list(defaults)), defaults)
    return _INSERTS[table.name]


def insert_case(session: Session, case: Case) -> Case:
    """Store a new case and track it (see `track`): later changes in the transaction are saved.

    Columns the case leaves None are not named (NULL, their default, stores the same): a new
    case names about 33 of 53, and psycopg neither caches nor prepares a statement of more than
    50 parameters, so the whole INSERT was converted in Python and planned anew every time.
    """
    values = {key: value for key in _CASE_COLUMNS
              if (value := getattr(case, key)) is not None or key in _DEFAULTED}
    shape = frozenset(values)
    statement = _CASE_INSERTS.get(shape)
    if statement is None:
        statement = _CASE_INSERTS[shape] = inserting(_CASES, [k for k in _CASE_COLUMNS if k in shape])
    case_id = int(statement.scalar(session, values))
    set_committed_value(case, "id", case_id)
    make_transient_to_detached(case)  # stored: its history starts now
    return track(session, case)


def _update_for(keys: frozenset[str]) -> Prepared:
    statement = _UPDATES.get(keys)
    if statement is None:
        statement = _UPDATES[keys] = Prepared(
            update(_CASES)
            .where(_CASES.c.id == bindparam("case_id"), _CASES.c.version == bindparam("loaded_version"))
            .values({key: bindparam(f"new_{key}", type_=_CASES.c[key].type) for key in sorted(keys)}))
    return statement


def _pending_update(case: Case) -> tuple[frozenset[str], dict[str, Any]] | None:
    """The columns that changed on a tracked case since it was loaded (or last saved), as the
    parameters of its UPDATE; None when nothing did."""
    state = instance_state(case)
    values = state.dict
    # The ORM records every assignment, also of an equal value: write only real changes.
    changed = {key: values[key] for key, old in state.committed_state.items() if values[key] != old}
    if not changed:
        state.committed_state.clear()
        return None
    params = {f"new_{key}": value for key, value in changed.items()}
    params.update(case_id=case.id, loaded_version=state.committed_state.get("version", values["version"]))
    return frozenset(changed), params


def _with_event_for(keys: frozenset[str]) -> Prepared:
    """PostgreSQL: the case's UPDATE and its audit event's INSERT as one statement (one round
    trip); the event goes in only if the update found the case at its loaded version."""
    statement = _WITH_EVENT.get(keys)
    if statement is None:
        changed = cast(Update, _update_for(keys).statement).returning(_CASES.c.id).cte("changed")
        event_row = select(*[bindparam(f"event_{name}", type_=_EVENT_TABLE.c[name].type)
                             for name in EVENT_COLUMNS]).select_from(changed)
        statement = _WITH_EVENT[keys] = Prepared(
            insert(_EVENT_TABLE).from_select(EVENT_COLUMNS, event_row))
    return statement


def save_tracked(session: Session) -> None:
    """Write the tracked cases' changes and the audit events fixing them.

    One statement per shape of change, all its cases at once: a sweep's chunk changes the same
    columns on many cases: one executemany (on PostgreSQL one round trip for the chunk, not one
    per case). Any row whose version moved fails it all. The events follow, in the order they
    were appended; a single action's case and event on PostgreSQL go in one statement.
    """
    work = work_of(session)
    tracked, work.cases = work.cases, {}
    events, work.events = work.events, []
    batches: dict[frozenset[str], list[tuple[Case, dict[str, Any]]]] = {}
    for case in tracked.values():
        pending = _pending_update(case)
        if pending is not None:
            batches.setdefault(pending[0], []).append((case, pending[1]))
    if (len(batches) == 1 and len(events) == 1 and session.get_bind().dialect.name == "postgresql"):
        ((keys, items),) = batches.items()
        if len(items) == 1 and items[0][0].id == events[0]["case_id"]:
            merged = {**items[0][1], **{f"event_{name}": value for name, value in events[0].items()}}
            if _with_event_for(keys).rowcount(session, merged) != 1:
                _raise_stale(session.connection(), items)
            instance_state(items[0][0]).committed_state.clear()
            return
    for keys, items in batches.items():
        statement = _update_for(keys)
        rows = [params for _, params in items]
        touched = statement.rowcount(session, rows[0]) if len(rows) == 1 \
            else statement.run_many(session, rows)
        if touched != len(items):
            _raise_stale(session.connection(), items)
        for case, _ in items:
            instance_state(case).committed_state.clear()  # stored: the base of the next change
    write_events(session, events)


def write_events(session: Session, events: list[dict[str, Any]] | None = None) -> None:
    """Insert audit events now: those given, else the transaction's pending ones (a step that
    rewrites a case's events, as re-redaction does, first has them in the table)."""
    if events is None:
        work = work_of(session)
        events, work.events = work.events, []
    insert_events(session, events)


def _raise_stale(conn: Any, items: list[tuple[Case, dict[str, Any]]]) -> None:
    ids = [case.id for case, _ in items]
    now = dict(conn.execute(select(_CASES.c.id, _CASES.c.version).where(_CASES.c.id.in_(ids))).all())
    for case, params in items:
        written = params.get("new_version", params["loaded_version"])
        if now.get(case.id) != written:
            raise StaleCase(case_number=case.number, expected=cast(int, params["loaded_version"]),
                            actual=now.get(case.id) or 0)
    raise StaleCase(case_number=items[0][0].number, expected=cast(int, items[0][1]["loaded_version"]),
                    actual=0)


# Duban's own sessions only: a commit writes its tracked cases first; a rollback forgets them.
# (services/writetx.py writes its own at the end of its block.)
@event.listens_for(DubanSession, "before_commit")
def _write_tracked(session: DubanSession) -> None:
    save_tracked(session)


@event.listens_for(DubanSession, "after_rollback")
def _forget_tracked(session: DubanSession) -> None:
    session.work.discard()


@event.listens_for(DubanSession, "after_commit")
def _commit_done(session: DubanSession) -> None:
    session.work.connection = None
