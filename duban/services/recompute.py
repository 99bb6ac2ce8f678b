"""Recomputing stored deadlines when the official calendar changes (a new or amended year).

Publishing a year can move a third of a million open deadlines at once. Finding reads each open
case once and computes a due date once per distinct limit (a few hundred, not a million).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, type_coerce, update
from sqlalchemy import select as core_select
from sqlalchemy.types import NullType

from duban.clock import local_date
from duban.deadlines import due_date
from duban.errors import StaleCase
from duban.models import AuditEvent, Case
from duban.services.audit import event_hash
from duban.services.context import ENGINE_ACTOR, ServiceContext
from duban.states.definition import OPEN_STATES
from duban.workcal import DayAnswer, WorkCalendar

CHUNK = 5000
# Open cases read per fetch while finding (smaller batches measured faster than larger ones).
FETCH = 1000
# Distinct limits remembered while finding; more distinct limits than this only cost a recompute.
VERDICTS_KEPT = 100_000

_CASES = Case.__table__  # type: ignore[attr-defined]


class Moved(NamedTuple):
    """A deadline the calendar moved. A tuple, not a dataclass: a third of a million are made at
    once, and tuples of plain values drop out of the garbage collector's walks (0.3 s here)."""

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
    _CASES.c.deadline_days, _CASES.c.deadline_unit, _CASES.c.extension_days,
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
        self._due: dict[tuple[str, dt.date, int, str, int], DayAnswer] = {}

    def __missing__(self, key: Sequence[Any]) -> Verdict:  # key: a row's tuple from _FIND
        office_id, unit_id, start, days, unit, extension_days, old, provisional = key
        start, old, provisional = _as_date(start), _as_date(old), bool(provisional)
        calendar = self._calendar(unit_id or office_id)
        due_key = (calendar.name, start, days, unit, extension_days)
        answer = self._due.get(due_key)
        if answer is None:
            answer = self._due[due_key] = due_date(calendar, start=start, days=days, unit=unit,
                                                   extension_days=extension_days)
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
    computations.
    """
    verdicts = _Verdicts(ctx)
    moved: list[Moved] = []
    with ctx.engine.connect() as conn:
        for row in conn.execution_options(yield_per=FETCH).execute(_FIND):
            verdict = verdicts[row[2:]]
            if verdict is not None:
                moved.append(Moved(row[0], row[1], *verdict))
    moved.sort(key=attrgetter("case_id"))  # the index walked may be (state, id): chunks by id
    return moved


def apply_moved(ctx: ServiceContext, moved: list[Moved]) -> int:
    """Store the new deadlines, each with its audit event, one transaction per chunk.

    Core statements in bulk (a calendar change can move a third of all open deadlines): read the
    chain heads of the chunk, insert its events with one executemany, update its cases with
    another. The case's version guards against an action racing the recompute.
    """
    now = ctx.now()
    cases = Case.__table__  # type: ignore[attr-defined]
    events = AuditEvent.__table__  # type: ignore[attr-defined]
    stored = 0
    for i in range(0, len(moved), CHUNK):
        chunk = {m.case_id: m for m in moved[i: i + CHUNK]}
        with ctx.engine.begin() as conn:
            heads = conn.execute(core_select(cases.c.id, cases.c.state, cases.c.version, cases.c.audit_seq,
                                        cases.c.audit_hash).where(cases.c.id.in_(list(chunk))))
            event_rows, case_rows = [], []
            for cid, state, version, seq, prev in heads:
                m = chunk[cid]
                data = {"from": str(m.old), "to": str(m.new), "provisional": m.provisional_after}
                digest = event_hash(prev_hash=prev, case_id=cid, seq=seq + 1, at=now,
                                    actor=ENGINE_ACTOR.name, actor_role=ENGINE_ACTOR.role,
                                    action="recompute_deadline", from_state=state, to_state=state,
                                    reason="", data=data)
                event_rows.append({"case_id": cid, "seq": seq + 1, "at": now, "actor": ENGINE_ACTOR.name,
                                   "actor_role": ENGINE_ACTOR.role, "action": "recompute_deadline",
                                   "from_state": state, "to_state": state, "reason": "", "data": data,
                                   "prev_hash": prev, "hash": digest})
                case_rows.append({"cid": cid, "v": version, "new": m.new, "prov": m.provisional_after,
                                  "seq": seq + 1, "hash": digest})
            if event_rows:
                conn.execute(insert(events), event_rows)
                result = conn.execute(
                    update(cases).where(cases.c.id == bindparam("cid"), cases.c.version == bindparam("v"))
                    .values(deadline_on=bindparam("new"), deadline_provisional=bindparam("prov"),
                            version=cases.c.version + 1, audit_seq=bindparam("seq"),
                            audit_hash=bindparam("hash"),
                            # the next sweep recolours the case and re-plans its ladder steps
                            sweep_due_on=local_date(now)),
                    case_rows)
                if result.rowcount != len(case_rows):
                    raise StaleCase(case_number="(recompute)", expected=len(case_rows),
                                    actual=result.rowcount)
            stored += len(event_rows)
    return stored
