"""The counts a leader looks at first: by level, disposition, state and warning colour, and what is overdue.

Scoped like every list (`scope_for`, `scope_clauses`), so a dashboard never counts a case its viewer
could not open. The colour is not a column (it depends on the calendar), so it is computed here
for open cases from a narrow query of deadlines, not from loaded case rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from duban.deadlines import counted_deadline, warning_colour
from duban.models import Case, Org, Subject
from duban.services.context import Actor, ServiceContext
from duban.services.queries import CaseFilter, CaseRow, scope_clauses, scope_for
from duban.services.reading import list_cases
from duban.services.subjects import FLAGGED
from duban.states.definition import FINISHED_STATES


@dataclass
class Dashboard:
    total: int = 0
    open: int = 0
    overdue_count: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    by_disposition: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    by_warning: dict[str, int] = field(default_factory=dict)  # open cases only
    overdue: list[CaseRow] = field(default_factory=list)  # priority first, then longest overdue
    # Open cases whose subject names no org, several, or another than the one picked: the
    # dispatcher checks whom they are about before handing them on (duban.services.subjects).
    subjects_flagged: int = 0


def dashboard(ctx: ServiceContext, viewer: Actor, *, overdue_limit: int = 50) -> Dashboard:
    today = ctx.today()
    finals = [s.value for s in FINISHED_STATES]
    with Session(ctx.engine) as session:
        flt = scope_for(session, viewer)
        counts = _grouped(flt, col(Case.level), col(Case.disposition), col(Case.state))
        # The colour is the same for every open case with the same limit and calendar: counted
        # once per distinct (deadline, start, org), not once per case.
        limits = _grouped(flt, col(Case.deadline_on), col(Case.deadline_start), _OFFICE.code,
                          _UNIT.code, col(Case.missed_deadline_on)).where(col(Case.state).not_in(finals))
        by_kind = session.execute(counts).all()
        by_limit = session.execute(limits).all()
        flagged = (_grouped(flt).join(_SUBJECT, col(Case.subject_id) == _SUBJECT.c.id)
                   .where(col(Case.state).not_in(finals), _SUBJECT.c.resolution.in_(FLAGGED)))
        subjects_flagged = session.execute(flagged).scalar_one()
    board = Dashboard(total=sum(n for *_, n in by_kind), subjects_flagged=subjects_flagged)
    levels: Counter[str] = Counter()
    dispositions: Counter[str] = Counter()
    states: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for level, disposition, state, n in by_kind:
        levels[level] += n
        dispositions[disposition or "none"] += n
        states[state] += n
    for deadline_on, deadline_start, office_code, unit_code, missed_on, n in by_limit:
        board.open += n
        warnings[warning_colour(deadline_on=counted_deadline(deadline_on, missed_on),
                                deadline_start=deadline_start, today=today,
                                calendar=ctx.calendar_for(unit_code or office_code), policy=ctx.policy)] += n
    board.by_level, board.by_disposition = dict(levels), dict(dispositions)
    board.by_state, board.by_warning = dict(states), dict(warnings)
    board.overdue_count = warnings["red"]
    flt.overdue, flt.open_only, flt.limit = True, True, overdue_limit
    board.overdue = list_cases(ctx, flt, actor=viewer)
    return board


# Built once: a fresh alias per call costs more than the query.
_OFFICE, _UNIT = aliased(Org, name="office"), aliased(Org, name="unit")
_SUBJECT = Subject.__table__  # type: ignore[attr-defined]


def _grouped(flt: CaseFilter, *keys: Any) -> Select[Any]:
    """count(*) of the viewer's cases grouped by `keys` (the case's office and unit joined)."""
    query = (select(*keys, func.count())  # no keys: one row, the count
             .select_from(Case.__table__)  # type: ignore[attr-defined]
             .join(_OFFICE, col(Case.office_id) == _OFFICE.id)
             .outerjoin(_UNIT, col(Case.unit_id) == _UNIT.id)
             .group_by(*keys))
    for clause in scope_clauses(flt):
        query = query.where(clause)
    return query
