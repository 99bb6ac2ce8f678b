"""The ledger (台账): one row per case touched in the period, with a column per figure it counts in.

A leader who doubts "按期办结 625" filters the 台账 sheet on 计入：按期办结 = 1 and sees the 625 cases;
for an action figure (退回 237 件次) the column holds how many times the case counts. The flags
come from the very predicates the report counts with (duban.reports.figures), so the column sums
equal the figures by construction — and a test checks it.

Which cases: every case with an audit event in the period (registered, dispatched, reported on,
reviewed, called back, chased, closed…), plus cases overdue at its end and the office's
key-supervised cases, which may have seen no action but are still the report's business.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from duban.reports import figures as F
from duban.reports.period import Period
from duban.services.callbackrules import RESULT, UNREACHABLE
from duban.services.reading import report_title

# Case figures flagged 0/1 on each ledger row, in column order.
CASE_FLAGS = ("received", "disposed", "undisposed", "dispatched", "responded", "resolved", "cohort_closed",
              "closed", "on_time", "rehandled_closed", "overdue", "key", "key_progress", "uncallable")


@dataclass
class LedgerRow:
    number: str
    received_at: dt.datetime
    level: str
    office: str
    channel: str
    category: str
    priority: str
    title: str
    subject: str
    disposition: str | None
    unit: str
    state: str
    closed_at: dt.datetime | None
    deadline_kind: str | None
    deadline_on: dt.date | None
    return_count: int
    repeat_count: int
    flags: dict[str, int] = field(default_factory=dict)  # figure -> 0/1, or times counted


def _in_ledger(period: Period, scope: F.Scope, on: dt.date) -> Any:
    touched = select(F.E.case_id).where(F.within(F.E.at, period))
    return and_(or_(F.C.id.in_(touched), F.overdue_at(period, on), F.key_cases(period, scope)),
                scope.clause())


def _event_counts(conn: Connection, period: Period, scope: F.Scope, supervision: Iterable[str],
                  satisfied: Iterable[str]) -> dict[int, dict[str, int]]:
    """Per case, how many times it counts in each event and callback figure."""
    figure_of: dict[str, list[str]] = defaultdict(list)
    for name, actions in F.EVENT_FIGURES.items():
        for action in actions:
            figure_of[action].append(name)
    supervision = tuple(supervision)
    for action in supervision:
        figure_of[action] += ["supervision", f"supervision:{action}"]
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    actions = tuple({a.split(">", 1)[0] for a in figure_of})  # "action>state": F.event_clause
    query = (select(F.E.case_id, F.E.action, F.E.to_state, func.count())
             .select_from(F.EVENTS.join(F.CASES, F.E.case_id == F.C.id))
             .where(F.E.action.in_(actions), F.within(F.E.at, period), scope.clause())
             .group_by(F.E.case_id, F.E.action, F.E.to_state))
    for case_id, action, to_state, n in conn.execute(query):
        for name in (*figure_of.get(action, ()), *figure_of.get(f"{action}>{to_state}", ())):
            out[case_id][name] += int(n)
    # Every attempt, those that reached the complainant, those counted satisfied (F.callbacks),
    # and 联系不上.
    reached = RESULT != UNREACHABLE
    callbacks = (select(F.CB.case_id, func.count(), F.flag_sum(reached),
                        F.flag_sum(and_(reached, RESULT.in_(tuple(satisfied)))))
                 .select_from(F.CALLBACKS.join(F.CASES, F.CB.case_id == F.C.id))
                 .where(F.within(F.CB.called_at, period), scope.clause())
                 .group_by(F.CB.case_id))
    for case_id, n, reached_n, sat in conn.execute(callbacks):
        out[case_id]["callback_attempts"] += int(n)
        out[case_id]["callbacks"] += int(reached_n)
        out[case_id]["satisfied"] += int(sat)
        out[case_id]["callback_unreachable"] += int(n) - int(reached_n)
    return out


def event_columns(supervision: Iterable[str]) -> list[str]:
    return [*F.EVENT_FIGURES, "supervision", *(f"supervision:{a}" for a in supervision),
            "callback_attempts", "callbacks", "satisfied", "callback_unreachable"]


def ledger_rows(conn: Connection, *, period: Period, scope: F.Scope, on: dt.date,
                supervision: Iterable[str], satisfied: Iterable[str]) -> Iterator[LedgerRow]:
    """The ledger, in order of receipt; rows are produced as the database returns them.
    `satisfied`: the results that count as satisfied (policy [callbacks] satisfied_results)."""
    supervision = tuple(supervision)
    counts = _event_counts(conn, period, scope, supervision, satisfied)
    columns = event_columns(supervision)
    office = aliased(F.ORGS)
    unit = aliased(F.ORGS)
    defs = {name: and_(*F.FIGURES[name].cases(period, scope, on)) for name in CASE_FLAGS}
    query = (
        select(F.C.id, F.C.number, F.C.received_at, F.C.level, office.c.name, F.C.channel,
               F.C.category, F.C.priority, report_title(F.CASES), F.S.name, F.C.disposition, unit.c.name,
               F.C.state, F.C.closed_at, F.C.deadline_kind, F.C.deadline_on, F.C.return_count,
               F.C.repeat_count, *[case((clause, 1), else_=0) for clause in defs.values()])
        .select_from(F.CASES.join(office, office.c.id == F.C.office_id)
                     .outerjoin(unit, unit.c.id == F.C.unit_id)
                     .outerjoin(F.SUBJECTS, F.S.id == F.C.subject_id))
        .where(_in_ledger(period, scope, on))
        .order_by(F.C.received_at, F.C.id)
    )
    for row in conn.execute(query.execution_options(yield_per=2000)):
        flags = dict(zip(defs, (int(v) for v in row[18:]), strict=True))
        per_case = counts.get(row[0], {})
        for name in columns:
            flags[name] = per_case.get(name, 0)
        closed_at = row[13] if row[13] is not None and row[13] < period.end else None
        yield LedgerRow(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] or "",
                        row[10], row[11] or "", row[12], closed_at, row[14], row[15], row[16], row[17],
                        flags)
