"""Recomputing stored deadlines when the official calendar changes (a new or amended year)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from duban.clock import local_date
from duban.deadlines import due_date
from duban.models import Case, Org
from duban.services.audit import append_event
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
    query = (
        select(Case.id, Case.number, Case.deadline_start, Case.deadline_days, Case.deadline_unit,
               Case.extension_days, Case.deadline_on, Case.deadline_provisional, office.code,
               unit.code)
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
    """Store the new deadlines, each with an audit event, in chunks of one transaction each."""
    now = ctx.now()
    for i in range(0, len(moved), CHUNK):
        chunk = moved[i: i + CHUNK]
        with Session(ctx.engine) as session:
            session.connection().execute(
                # sweep_due_on: the next sweep recolours the case and re-plans its ladder steps.
                update(Case).where(col(Case.id) == bindparam("cid")).values(
                    deadline_on=bindparam("new"), deadline_provisional=bindparam("prov"),
                    sweep_due_on=local_date(now)),
                [{"cid": m.case_id, "new": m.new, "prov": m.provisional_after} for m in chunk],
                execution_options={"synchronize_session": False},
            )
            cases = {c.id: c for c in session.exec(
                select(Case).where(col(Case.id).in_([m.case_id for m in chunk])))}
            for m in chunk:
                case = cases[m.case_id]
                case.version += 1
                append_event(session, case, at=now, actor=ENGINE_ACTOR.name,
                             actor_role=ENGINE_ACTOR.role, action="recompute_deadline",
                             from_state=case.state,
                             data={"from": str(m.old), "to": str(m.new),
                                   "provisional": m.provisional_after})
            session.commit()
    return len(moved)
