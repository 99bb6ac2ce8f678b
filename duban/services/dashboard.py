"""The counts a leader looks at first: by level, disposition, state and warning colour, and what is overdue.

Scoped like every list (`scope_for`, `scope_clauses`), so a dashboard never counts a case its viewer
could not open. The colour is not a column (it depends on the calendar), so it is computed here
for open cases from a narrow query of deadlines, not from loaded case rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from duban.deadlines import warning_colour
from duban.models import Case, Org
from duban.services.context import Actor, ServiceContext
from duban.services.queries import CaseRow, list_cases, scope_clauses, scope_for
from duban.states.definition import FINAL_STATES


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


def dashboard(ctx: ServiceContext, viewer: Actor, *, overdue_limit: int = 50) -> Dashboard:
    today = ctx.today()
    finals = {s.value for s in FINAL_STATES}
    office, unit = aliased(Org), aliased(Org)
    with Session(ctx.engine) as session:
        flt = scope_for(session, viewer)
        query = (select(col(Case.level), col(Case.disposition), col(Case.state), col(Case.deadline_on),
                        col(Case.deadline_start), col(office.code), col(unit.code))
                 .join(office, col(Case.office_id) == office.id)
                 .outerjoin(unit, col(Case.unit_id) == unit.id))
        for clause in scope_clauses(flt, office, unit):
            query = query.where(clause)
        rows = session.execute(query).all()
    board = Dashboard(total=len(rows))
    levels: Counter[str] = Counter()
    dispositions: Counter[str] = Counter()
    states: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for level, disposition, state, deadline_on, deadline_start, office_code, unit_code in rows:
        levels[level] += 1
        dispositions[disposition or "none"] += 1
        states[state] += 1
        if state in finals:
            continue
        board.open += 1
        warnings[warning_colour(deadline_on=deadline_on, deadline_start=deadline_start, today=today,
                                calendar=ctx.calendar_for(unit_code or office_code), policy=ctx.policy)] += 1
    board.by_level, board.by_disposition = dict(levels), dict(dispositions)
    board.by_state, board.by_warning = dict(states), dict(warnings)
    board.overdue_count = warnings["red"]
    flt.overdue, flt.open_only, flt.limit = True, True, overdue_limit
    board.overdue = list_cases(ctx, flt, viewer=viewer)
    return board
