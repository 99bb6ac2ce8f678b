"""Recomputing stored deadlines when the official calendar changes (a new or amended year)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from duban.clock import local_date
from duban.deadlines import due_date
from duban.errors import StaleCase
from duban.models import AuditEvent, Case, Org
from duban.services.audit import event_hash
from duban.services.context import ENGINE_ACTOR, ServiceContext
from duban.states.definition import OPEN_STATES

CHUNK = 5000


@dataclass(frozen=True)
class Moved:
    case_id: int
    number: str
    old: dt.date
    new: dt.date
    provisional_before: bool
    provisional_after: bool

    @property
    def delta_days(self) -> int:
        return (self.new - self.old).days


def find_moved(ctx: ServiceContext) -> list[Moved]:
    """Open deadlines that the current calendar puts on another day (or no longer provisional)."""
    office, unit = aliased(Org), aliased(Org)
    columns = (Case.id, Case.number, Case.deadline_start, Case.deadline_days, Case.deadline_unit,
               Case.extension_days, Case.deadline_on, Case.deadline_provisional, office.code,
               unit.code)
    query = (
        select(*columns)  # type: ignore[call-overload]
        .join(office, col(Case.office_id) == office.id)
        .outerjoin(unit, col(Case.unit_id) == unit.id)
        .where(col(Case.state).in_(OPEN_STATES), col(Case.deadline_start).is_not(None))
    )
    moved: list[Moved] = []
    with Session(ctx.engine) as session:
        result = session.exec(query.execution_options(yield_per=CHUNK))
        for cid, number, start, days, unit_kind, ext, old, prov, office_code, unit_code in result:
            answer = due_date(ctx.calendar_for(unit_code or office_code), start=start, days=days,
                              unit=unit_kind, extension_days=ext)
            if answer.date != old or answer.provisional != prov:
                moved.append(Moved(cid, number, old, answer.date, prov, answer.provisional))
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
