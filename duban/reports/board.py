"""The warning board (预警看板): an office's open cases by responsible unit and warning colour.

Colours follow duban.deadlines.warning_colour (red overdue, yellow on the last working days,
blue with a third of the limit left), which needs the working-day calendar of the unit, so they
are computed in Python per (unit, limit start, deadline) group, not per case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from duban.clock import local_date
from duban.deadlines import warning_colour
from duban.reports.figures import CASES, C, Scope, open_deadlines, overdue_by_org, past_limit, scope_of
from duban.reports.model import Board, WarningLine
from duban.services.context import ServiceContext
from duban.services.reading import report_title

COLOURS = ("red", "yellow", "blue", "none")


def warning_lines(ctx: ServiceContext, conn: Any, scope: Scope, at: dt.datetime) -> list[WarningLine]:
    """Per responsible org, its open cases by colour; most red first."""
    today = local_date(at)
    lines: dict[int, WarningLine] = {}

    def line(org_id: int) -> WarningLine:
        if org_id not in lines:
            code = scope.codes.get(org_id, "")
            lines[org_id] = WarningLine(code, scope.names.get(org_id, code))
        return lines[org_id]

    for org_id, n in overdue_by_org(conn, scope, at).items():
        line(org_id).add("red", n)
    calendars: dict[int, Any] = {}
    colours: dict[tuple[int, dt.date | None, dt.date], str] = {}
    for group in open_deadlines(conn, scope, at):
        org_id = group.responsible_id
        if org_id not in calendars:
            calendars[org_id] = ctx.calendar_for(scope.codes.get(org_id) or None)
        calendar = calendars[org_id]
        key = (id(calendar), group.deadline_start, group.deadline_on)
        if key not in colours:
            colours[key] = warning_colour(deadline_on=group.deadline_on,
                                          deadline_start=group.deadline_start, today=today,
                                          calendar=calendar, policy=ctx.policy)
        line(org_id).add(colours[key], group.count)
    return sorted(lines.values(), key=lambda w: (-w.red, -w.yellow, -w.blue, -w.total, w.code))


def red_cases(conn: Any, scope: Scope, at: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """The overdue open cases, longest overdue first."""
    today = local_date(at)
    missed = func.coalesce(C.missed_deadline_on, C.deadline_on)  # the deadline it answers for
    query = (select(C.number, report_title(CASES), C.state, C.unit_id, C.office_id, C.deadline_kind,
                    missed.label("deadline_on"), C.priority)
             .where(C.closed_at.is_(None), past_limit(today), C.received_at <= at,
                    scope.clause())
             .order_by(missed, C.number).limit(limit))
    out = []
    for row in conn.execute(query):
        responsible = row.unit_id or row.office_id
        out.append({"number": row.number, "title": row.title, "state": row.state,
                    "unit": scope.names.get(responsible, ""), "deadline_kind": row.deadline_kind,
                    "deadline_on": row.deadline_on, "days_over": (today - row.deadline_on).days,
                    "priority": row.priority})
    return out


def build_board(ctx: ServiceContext, office_code: str, *, at: dt.datetime | None = None,
                red_limit: int = 50) -> Board:
    """The board for `office_code` now (or at `at`): what needs chasing this morning."""
    at = at or ctx.now()
    with ctx.engine.connect() as conn:
        scope = scope_of(conn, office_code)
        lines = warning_lines(ctx, conn, scope, at)
        reds = red_cases(conn, scope, at, red_limit)
    return Board(office_code=scope.office_code, office_name=scope.office_name, at=at,
                 lines=lines, red_cases=reds, labels=ctx.labels)
