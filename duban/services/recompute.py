"""Recomputing stored deadlines when the official calendar changes (a new or amended year).

Publishing a year can move a third of a million open deadlines at once, so both halves work in
bulk. Finding computes a due date once per distinct limit (a few hundred, not a million): SQLite
reads each open case once, PostgreSQL groups them itself and sends only the moved. Storing
writes a chunk of cases and their audit events with a couple of statements, whose rows are made
of values converted once per distinct move, not per case; PostgreSQL stores two chunks at once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select as core_select
from sqlalchemy import text, type_coerce
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import NullType

from duban.clock import local_date
from duban.db import write_transaction, writers_overlap
from duban.deadlines import due_date
from duban.errors import StaleCase
from duban.models import AuditEvent, Case
from duban.services.audit import FACT_FIELDS, canonical_data, facts_of, mac, message_of, utc_iso
from duban.services.auditkeys import KeyRing
from duban.services.context import ENGINE_ACTOR, ServiceContext
from duban.states.definition import OPEN_STATES
from duban.workcal import DayAnswer, WorkCalendar

# Cases stored per transaction: large enough that commits and statements are few, small enough
# that the write lock (SQLite) is held a fraction of a second and a chunk's rows stay small.
CHUNK = 10_000
# PostgreSQL: chunks stored at once, each on its own connection. While one chunk's statement runs
# on the server, the client seals the next: the server's work and ours overlap on two cores.
WRITERS = 2
# Open cases read per fetch while finding (smaller batches measured faster than larger ones).
FETCH = 1000
# Distinct limits remembered while finding; more distinct limits than this only cost a recompute.
VERDICTS_KEPT = 100_000

_CASES = Case.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_ACTION = "recompute_deadline"


class Moved(NamedTuple):
    """A deadline the calendar moved. A tuple, not a dataclass: a third of a million are made at
    once, and tuples of plain values drop out of the garbage collector's walks."""

    case_id: int
    number: str
    old: dt.date
    new: dt.date
    provisional_before: bool
    provisional_after: bool

    @property
    def delta_days(self) -> int:
        return (self.new - self.old).days


def _raw(column: Any) -> Any:
    """The column as the driver returns it (SQLite: ISO text, 0/1): converted once per limit."""
    return type_coerce(column, NullType()).label(column.name)


# After (id, number), everything the verdict depends on: the org (it picks the calendar), the
# limit (start, days, unit, extension) and what is stored (day, provisional flag).
_FIND = core_select(
    _CASES.c.id, _CASES.c.number, _CASES.c.office_id, _CASES.c.unit_id, _raw(_CASES.c.deadline_start),
    _CASES.c.deadline_days, _CASES.c.deadline_unit, _CASES.c.extension_days, _CASES.c.extension_unit,
    _raw(_CASES.c.deadline_on), _raw(_CASES.c.deadline_provisional),
).where(_CASES.c.state.in_(OPEN_STATES), _CASES.c.deadline_start.is_not(None))

# (old, new, provisional before, after) for a deadline that moved; None for one that did not.
Verdict = tuple[dt.date, dt.date, bool, bool] | None


class _Verdicts(dict[Sequence[Any], Verdict]):
    """Whether a stored deadline moved, by the key _FIND reads; computed on the first miss.

    Open cases share limits (those registered the same day at the same unit have the same
    deadline), so the find loop is one dictionary lookup per case. Due dates are remembered by
    calendar, so orgs sharing one calendar share the computation too.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__()
        self._ctx = ctx
        self._calendars: dict[int, WorkCalendar] = {}
        self._due: dict[tuple[str, dt.date, int, str, int, str | None], DayAnswer] = {}

    def __missing__(self, key: Sequence[Any]) -> Verdict:  # key: a row's tuple from _FIND
        office_id, unit_id, start, days, unit, extension_days, extension_unit, old, provisional = key
        start, old, provisional = _as_date(start), _as_date(old), bool(provisional)
        calendar = self._calendar(unit_id or office_id)
        due_key = (calendar.name, start, days, unit, extension_days, extension_unit)
        answer = self._due.get(due_key)
        if answer is None:
            answer = self._due[due_key] = due_date(calendar, start=start, days=days, unit=unit,
                                                   extension_days=extension_days,
                                                   extension_unit=extension_unit)
        verdict = None
        if answer.date != old or answer.provisional != provisional:
            verdict = (old, answer.date, provisional, answer.provisional)
        if len(self) >= VERDICTS_KEPT:
            self.clear()
        self[key] = verdict
        return verdict

    def _calendar(self, org_id: int) -> WorkCalendar:
        calendar = self._calendars.get(org_id)
        if calendar is None:
            code = self._ctx.orgs.by_id(org_id).code
            calendar = self._calendars[org_id] = self._ctx.calendar_for(code)
        return calendar


def _as_date(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def find_moved(ctx: ServiceContext) -> list[Moved]:
    """Open deadlines that the current calendar puts on another day (or no longer provisional).

    In case id order. A million open cases cost the time to read them, not a million due-date
    computations. PostgreSQL groups them by limit itself, and hands back only the moved.
    """
    verdicts = _Verdicts(ctx)
    if ctx.engine.dialect.name == "postgresql":
        return _find_grouped(ctx.engine, verdicts)
    moved: list[Moved] = []
    with ctx.engine.connect() as conn:
        for row in conn.execution_options(yield_per=FETCH).execute(_FIND):
            verdict = verdicts[row[2:]]
            if verdict is not None:
                moved.append(Moved(row[0], row[1], *verdict))
    moved.sort(key=attrgetter("case_id"))  # the index walked may be (state, id): chunks by id
    return moved


# The distinct limits of the open cases (the key _FIND reads after id and number).
_LIMITS = """
SELECT office_id, unit_id, deadline_start, deadline_days, deadline_unit, extension_days,
       extension_unit, deadline_on, deadline_provisional
FROM cases WHERE state = ANY(%(states)s) AND deadline_start IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""
# The open cases of the limits that moved, with the limit's place in the list sent (k->>0). The
# nullable columns are compared through a stand-in, so that NULL meets NULL in a hash join.
_OF_LIMITS = """
WITH k AS (
    SELECT CAST(k->>0 AS INTEGER) AS i, CAST(k->>1 AS INTEGER) AS office_id,
           COALESCE(CAST(k->>2 AS INTEGER), -1) AS unit_id, CAST(k->>3 AS DATE) AS start,
           COALESCE(CAST(k->>4 AS INTEGER), -1) AS days, COALESCE(k->>5, '') AS unit,
           CAST(k->>6 AS INTEGER) AS extension_days, COALESCE(k->>7, '') AS extension_unit,
           COALESCE(CAST(k->>8 AS DATE), DATE '-infinity') AS deadline_on,
           CAST(k->>9 AS BOOLEAN) AS provisional
    FROM jsonb_array_elements(CAST(%(limits)s AS JSONB)) AS k
)
SELECT c.id, c.number, k.i
FROM cases AS c JOIN k
  ON c.office_id = k.office_id AND COALESCE(c.unit_id, -1) = k.unit_id
 AND c.deadline_start = k.start AND COALESCE(c.deadline_days, -1) = k.days
 AND COALESCE(c.deadline_unit, '') = k.unit AND c.extension_days = k.extension_days
 AND COALESCE(c.extension_unit, '') = k.extension_unit
 AND COALESCE(c.deadline_on, DATE '-infinity') = k.deadline_on
 AND c.deadline_provisional = k.provisional
WHERE c.state = ANY(%(states)s)
"""


def _find_grouped(engine: Engine, verdicts: _Verdicts) -> list[Moved]:
    """find_moved on PostgreSQL: the verdicts over the distinct limits, then the cases of those
    that moved. Reading every open case into Python was most of the time."""
    states = list(OPEN_STATES)
    with engine.connect() as conn:
        limits = conn.exec_driver_sql(_LIMITS, {"states": states}).all()
        moves = [(limit, verdict) for limit in limits
                 if (verdict := verdicts[tuple(limit)]) is not None]
        if not moves:
            return []
        sent = json.dumps([[i, *limit] for i, (limit, _) in enumerate(moves)], default=str)
        rows = conn.exec_driver_sql(_OF_LIMITS, {"limits": sent, "states": states})
        moved = [Moved(case_id, number, *moves[i][1]) for case_id, number, i in rows]
    moved.sort(key=attrgetter("case_id"))
    return moved


# -- storing ----------------------------------------------------------------------------------

# Per case of a chunk, what its update and its audit event need (a plain tuple: a million made).
_Row = tuple[int, int, int, str, str, str, Any, Any, str, str, str, str]
# case_id, version, seq, prev_hash, MAC, state, new deadline and flag (as the driver takes
# them), the event's data as JSON, its facts, alg, key id

_HEAD_COLUMNS = ("id", "version", "audit_seq", "audit_hash", *FACT_FIELDS)
_HEADS = core_select(*(_CASES.c[name] for name in _HEAD_COLUMNS))


def apply_moved(ctx: ServiceContext, moved: list[Moved]) -> int:
    """Store the new deadlines, each with its audit event, one transaction per chunk.

    Reads the chunk's chain heads and facts, seals each event onto its case's chain
    (audit.seal, the keyed MAC), then writes the events and updates the cases in bulk. A case
    whose deadline changed since `find_moved` is skipped; the version guards the rest against an
    action racing the chunk's own transaction (StaleCase, and the chunk rolls back). Returns how
    many were stored.

    On PostgreSQL up to WRITERS chunks are stored at once, each in its own transaction on its
    own connection (chunks hold distinct cases, so they never wait for each other). After a
    StaleCase no further chunk starts; chunks already under way finish, and the error is raised.
    """
    engine = ctx.engine  # write_transaction: no writer slips in between reading heads and writing
    store = _STORES[engine.dialect.name]
    events = _Events(engine.dialect, ctx.now(), ctx.audit_keys)
    chunks = (moved[i: i + CHUNK] for i in range(0, len(moved), CHUNK))

    def apply(chunk: list[Moved]) -> int:
        return _apply_chunk(engine, store, events, chunk)

    if not writers_overlap(engine) or WRITERS < 2 or len(moved) <= CHUNK:
        return sum(apply(chunk) for chunk in chunks)
    return _in_parallel(apply, chunks)


def _apply_chunk(engine: Engine, store: _Store, events: _Events, moved: list[Moved]) -> int:
    """One chunk in one transaction: the number of cases stored."""
    chunk = {m.case_id: m for m in moved}
    with write_transaction(engine) as conn:
        # A case whose deadline an action changed since it was found is left alone: the
        # action computed it anew (a rerun of the recompute would see it as it is now).
        heads = store.heads(conn, list(chunk))
        rows = [events.row(chunk[head["id"]], head) for head in heads
                if head["deadline_on"] == chunk[head["id"]].old
                and bool(head["deadline_provisional"]) == chunk[head["id"]].provisional_before]
        if rows:
            written = store.write(conn, events, rows)
            if written != len(rows):
                raise StaleCase(case_number="(recompute)", expected=len(rows), actual=written)
    return len(rows)


def _in_parallel(apply: Callable[[list[Moved]], int], chunks: Iterator[list[Moved]]) -> int:
    """`apply` over the chunks on WRITERS threads, at most WRITERS under way; the first error
    stops new chunks from starting and is raised once those under way are done."""
    stored = 0
    error: BaseException | None = None
    def collect(done: set[Future[int]]) -> None:
        nonlocal error, stored
        for future in done:
            if future.exception() is not None:
                error = error or future.exception()
            else:
                stored += future.result()

    with ThreadPoolExecutor(WRITERS, thread_name_prefix="recompute") as pool:
        running: set[Future[int]] = set()
        for chunk in chunks:
            if len(running) == WRITERS:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                collect(done)
                if error is not None:
                    break
            running.add(pool.submit(apply, chunk))
        wait(running)
        collect(running)
    if error is not None:
        raise error
    return stored


class _Kind(NamedTuple):
    """What the events of one move share."""

    data: dict[str, Any]
    data_json: str
    data_canonical: str  # as the MAC'd message holds it (audit.canonical_data)
    new: Any  # the new deadline and flag, as the driver takes them
    provisional: Any


class _Events:
    """The recompute's audit events, sealed onto each case's chain as audit.append_event does."""

    def __init__(self, dialect: Dialect, now: dt.datetime, keys: KeyRing) -> None:
        self._dialect = dialect
        self._now = now
        self._keys = keys
        self.at = _driver_value(_EVENTS.c.at, now, dialect)
        self.today = _driver_value(_CASES.c.sweep_due_on, local_date(now), dialect)
        self._kinds: dict[tuple[dt.date, dt.date, bool], _Kind] = {}
        self._at_iso = utc_iso(now)

    def row(self, m: Moved, head: Any) -> _Row:
        """What audit.seal would make, with the parts all events share made once: a third of a
        million are sealed one after the other (the GIL), so this is the client's floor."""
        kind = self._kinds.get((m.old, m.new, m.provisional_after))
        if kind is None:
            kind = self._kind(m)
        case_id, prev, seq = head["id"], head["audit_hash"], head["audit_seq"] + 1
        facts = facts_of({**head, "deadline_on": m.new, "deadline_provisional": m.provisional_after})
        state = head["state"]
        keys = self._keys
        alg, kid = keys.alg, keys.current
        case_key = keys.case_key(kid, alg, case_id)
        assert case_key is not None
        body = message_of(prev, alg, kid, case_id, seq, self._at_iso, ENGINE_ACTOR.name,
                          ENGINE_ACTOR.role, _ACTION, state, state, "", kind.data_canonical, facts, "")
        return (case_id, head["version"], seq, prev, mac(case_key, alg, body), state, kind.new,
                kind.provisional, kind.data_json, facts, alg, kid)

    def _kind(self, m: Moved) -> _Kind:
        data = {"from": str(m.old), "to": str(m.new), "provisional": m.provisional_after}
        kind = self._kinds[m.old, m.new, m.provisional_after] = _Kind(
            data, json.dumps(data), canonical_data(data),
            _driver_value(_CASES.c.deadline_on, m.new, self._dialect),
            _driver_value(_CASES.c.deadline_provisional, m.provisional_after, self._dialect))
        return kind


def _driver_value(column: Any, value: Any, dialect: Dialect) -> Any:
    """The value as SQLAlchemy would hand it to the driver for this column (once, not per row)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def _heads(conn: Connection, ids: list[int]) -> Sequence[Any]:
    return conn.execute(_HEADS.where(_CASES.c.id.in_(ids))).mappings().all()


class _Store(Protocol):
    def heads(self, conn: Connection, ids: list[int]) -> Sequence[Any]:
        """The chain heads and facts of the cases that still exist (typed, as mappings)."""

    def write(self, conn: Connection, events: _Events, rows: Sequence[_Row]) -> int:
        """Insert the events and update the cases whose version is unchanged; their number."""


class _SQLite:
    """Statements straight to the driver, the writes by executemany.

    Through SQLAlchemy's own executemany each row's parameters are processed in Python, which
    cost nearly as much as SQLite's own work on the row (docs/bench.md).
    These rows hold only ints, strings and values processed once per move (_driver_value).
    """

    INSERT = ("INSERT INTO audit_events (case_id, seq, at, actor, actor_role, action, from_state,"
              " to_state, reason, data, prev_hash, hash, facts, alg, key_id, rows)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, '')")
    # the next sweep recolours the case and re-plans its ladder steps: sweep_due_on = today
    UPDATE = ("UPDATE cases SET deadline_on = ?, deadline_provisional = ?, version = version + 1,"
              " audit_seq = ?, audit_hash = ?, sweep_due_on = ? WHERE id = ? AND version = ?")

    def heads(self, conn: Connection, ids: list[int]) -> Sequence[Any]:
        return _heads(conn, ids)

    def write(self, conn: Connection, events: _Events, rows: Sequence[_Row]) -> int:
        at, actor, role, today = events.at, ENGINE_ACTOR.name, ENGINE_ACTOR.role, events.today
        conn.exec_driver_sql(self.INSERT, [
            (cid, seq, at, actor, role, _ACTION, state, state, data, prev, digest, facts, alg, kid)
            for cid, _, seq, prev, digest, state, _, _, data, facts, alg, kid in rows])
        result = conn.exec_driver_sql(self.UPDATE, [
            (new, provisional, seq, digest, today, cid, version)
            for cid, version, seq, _, digest, _, new, provisional, _, _, _, _ in rows])
        return int(result.rowcount)


class _PostgreSQL:
    """One statement per chunk, the chunk's rows as one JSON document.

    An executemany costs a parse, bind and execute per row on the server and a pipeline message
    per row in the client. Arrays (unnest) send the chunk at once, but psycopg escapes each text
    element with a regular expression, and in binary the server's work grew;
    json.dumps makes the whole document in C. JSONB, not JSON: `r->>n` on a JSON value parses
    the row's text again for each field. Only the cases the version-guarded update changed get
    their event.
    """

    # The heads by one array parameter: an IN list of a chunk's ids is a bind parameter per id
    # for SQLAlchemy to expand and for the server to parse.
    HEADS = (f"SELECT {', '.join(_HEAD_COLUMNS)} FROM cases WHERE id = ANY(%(ids)s)")

    WRITE = text("""
WITH v AS (
    SELECT CAST(r->>0 AS INTEGER) AS id, CAST(r->>1 AS INTEGER) AS version,
           CAST(r->>2 AS INTEGER) AS seq, r->>3 AS prev_hash, r->>4 AS hash, r->>5 AS state,
           CAST(r->>6 AS DATE) AS new, CAST(r->>7 AS BOOLEAN) AS provisional,
           CAST(r->>8 AS JSON) AS data, r->>9 AS facts, r->>10 AS alg, r->>11 AS key_id
    FROM jsonb_array_elements(CAST(:rows AS JSONB)) AS r
), moved AS (
    UPDATE cases SET deadline_on = v.new, deadline_provisional = v.provisional,
        version = cases.version + 1, audit_seq = v.seq, audit_hash = v.hash, sweep_due_on = :today
    FROM v
    WHERE cases.id = v.id AND cases.version = v.version
    RETURNING v.id, v.seq, v.prev_hash, v.hash, v.state, v.data, v.facts, v.alg, v.key_id
)
INSERT INTO audit_events (case_id, seq, at, actor, actor_role, action, from_state, to_state,
                          reason, data, prev_hash, hash, facts, alg, key_id, rows)
SELECT id, seq, :at, :actor, :role, :action, state, state, '', data, prev_hash, hash, facts, alg,
       key_id, ''
FROM moved
""")

    def heads(self, conn: Connection, ids: list[int]) -> Sequence[Any]:
        # psycopg hands back the types the model's columns would (dates, booleans, aware times)
        return [dict(zip(_HEAD_COLUMNS, row, strict=True))
                for row in conn.exec_driver_sql(self.HEADS, {"ids": ids})]

    def write(self, conn: Connection, events: _Events, rows: Sequence[_Row]) -> int:
        result = conn.execute(self.WRITE, {
            "rows": json.dumps(rows, default=str), "today": events.today, "at": events.at,
            "actor": ENGINE_ACTOR.name, "role": ENGINE_ACTOR.role, "action": _ACTION})
        return int(result.rowcount)


_STORES: dict[str, _Store] = {"sqlite": _SQLite(), "postgresql": _PostgreSQL()}
