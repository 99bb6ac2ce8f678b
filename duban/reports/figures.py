"""Every figure of a report as a named SQL predicate, counted by GROUP BY and listable case by case.

Why predicates: a leader who doubts a number must get the cases behind it. Each figure is defined
once here (FIGURES), and the same definition both counts (aggregate queries over indexed columns,
several figures per statement as SUM(CASE WHEN …)) and lists (`list_figure`). Nothing loads all
cases into Python: the largest result is one row per (level, channel, disposition, unit) group.

Three sources, each counted in its own unit:
- cases (件): the cohort received in the period, cases closed in it, cases open at its end;
- audit events (件次): actions taken in the period (returns, extensions, objections, supervision);
- callbacks (次): calls and visits to complainants in the period: the attempts by method, those
  that reached the complainant by result on the scale (满意率 is taken over these: policy
  [callbacks] satisfied_results says which count), and 联系不上 apart. Cases closed that nobody
  could call back (anonymous: 无法回访) are counted apart too, never in 满意率.

Facts "at the end of the period" come from the audit trail (dispatch, response and lateness are
events with times), so a past month reads the same whenever it is reported; the current deadline
(for "overdue") is the one exception and is read as it stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles

from duban.clock import local_date
from duban.errors import InvalidActionInput, OrgNotFound
from duban.models import (
    AuditEvent,
    Callback,
    Case,
    Complainant,
    HandlingReport,
    Org,
    Referral,
    ReviewRequest,
    Subject,
)
from duban.reports.period import Period
from duban.services.callbackrules import RESULT, UNREACHABLE
from duban.services.reading import report_title
from duban.states.definition import DISPOSITION_STATES

# Core tables: reports aggregate rows and never build ORM objects.
CASES = Case.__table__  # type: ignore[attr-defined]
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
CALLBACKS = Callback.__table__  # type: ignore[attr-defined]
REPORTS = HandlingReport.__table__  # type: ignore[attr-defined]
ORGS = Org.__table__  # type: ignore[attr-defined]
SUBJECTS = Subject.__table__  # type: ignore[attr-defined]
REFERRALS = Referral.__table__  # type: ignore[attr-defined]
RF = REFERRALS.c
COMPLAINANTS = Complainant.__table__  # type: ignore[attr-defined]
CP = COMPLAINANTS.c
REVIEW_REQUESTS = ReviewRequest.__table__  # type: ignore[attr-defined]
RR = REVIEW_REQUESTS.c
C, E, CB, HR, O, S = CASES.c, EVENTS.c, CALLBACKS.c, REPORTS.c, ORGS.c, SUBJECTS.c  # noqa: E741

DISPOSITIONS = tuple(DISPOSITION_STATES)  # transfer, supervise, key_supervise, escalate, refer
# A unit has answered when it signs for the case, reports, asks to hand it back (退单; "object"
# before migration 0012) or asks for more time (the commission: its result).
RESPONSE_ACTIONS = ("sign_for", "report_progress", "submit_report", "request_return", "object",
                    "request_extension", "record_result")
# Reports whose audit event says whether the handling limit was kept (services/handlers._report;
# a government forwarding its department's report, services/delegation.forward_report).
LIMIT_REPORTS = ("submit_report", "record_result", "forward_report")

# Event figures: the audit actions each one counts.
EVENT_FIGURES: dict[str, tuple[str, ...]] = {
    "returns": ("send_back",),
    # A callback whose result does not count as satisfied sends the case back ("action>to_state":
    # the action when it ended in that state; callback_unsatisfied is the action before 0015).
    "callback_returns": ("callback_unsatisfied", "record_callback>returned"),
    "closed_unreachable": ("close_unreachable",),
    "reopened": ("reopen",),
    "extension_requests": ("request_extension",),
    "extensions_approved": ("approve_extension",),
    "extensions_rejected": ("reject_extension",),
    "objections": ("accept_return", "object"),  # 退单 that took effect (before 0012: on the unit's word)
    # 不予受理 and its reinstatement (by reason: the group "decline_reason" on "declined").
    "declined": ("decline",),
    "reinstated": ("reinstate",),
    "escalations": ("escalate",),
    "step_ups": ("step_up",),
    "refers": ("refer",),
}


@dataclass(frozen=True)
class Scope:
    """What an office's report covers: cases received in its region or handled by a unit in it."""

    office_id: int
    office_code: str
    office_name: str
    level: str
    region_ids: frozenset[int] | None  # None: the whole province, no filter at all
    codes: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)
    names: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)
    kinds: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)

    def clause(self) -> ColumnElement[bool]:
        if self.region_ids is None:
            return true()
        ids = sorted(self.region_ids)
        return or_(C.office_id.in_(ids), C.unit_id.in_(ids))


def scope_of(conn: Connection, office_code: str) -> Scope:
    """The office's scope; the top office (no parent) covers everything without a filter."""
    orgs = conn.execute(select(O.id, O.code, O.name, O.kind, O.level, O.parent_id)).all()
    office = next((o for o in orgs if o.code == office_code), None)
    if office is None:
        raise OrgNotFound(office_code)
    if office.kind != "office":
        raise InvalidActionInput(action="report", field="office",
                                 message=f"{office_code} is not a supervising office (办公室)")
    codes = {o.id: o.code for o in orgs}
    names = {o.id: o.name for o in orgs}
    region = None
    if office.parent_id is not None:
        region = frozenset(o.id for o in orgs
                           if o.code == office_code or o.code.startswith(office_code + "-"))
    return Scope(office.id, office.code, office.name, office.level, region, codes, names,
                 {o.id: o.kind for o in orgs})


# -- predicates ------------------------------------------------------------------------------

def within(column: Any, period: Period) -> ColumnElement[bool]:
    if period.cumulative:
        return column < period.end
    return and_(column >= period.start, column < period.end)


def _event(case_id: Any, actions: Iterable[str], *extra: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(E.case_id == case_id, E.action.in_(tuple(actions)), *extra)


def received(p: Period) -> ColumnElement[bool]:
    return within(C.received_at, p)


def dispatched_by(p: Period) -> ColumnElement[bool]:
    return _event(C.id, DISPOSITIONS, E.at < p.end)


def responded_by(p: Period) -> ColumnElement[bool]:
    return _event(C.id, RESPONSE_ACTIONS, E.at < p.end)


def closed_by(p: Period) -> ColumnElement[bool]:
    return C.closed_at < p.end


def late() -> ColumnElement[bool]:
    """A handling report (or the commission's result) came in after its time limit."""
    return _event(C.id, LIMIT_REPORTS, E.data["late"].as_boolean() == true())


def open_at(p: Period) -> ColumnElement[bool]:
    return and_(C.received_at < p.end, or_(C.closed_at.is_(None), C.closed_at >= p.end))


def overdue_at(p: Period, on: dt.date) -> ColumnElement[bool]:
    """Open at the end and past its running limit.

    A case with a running limit is open now (closing clears the limit), so "open at the end" comes
    down to `closed_at IS NULL`, the condition of the small partial index ix_cases_open_deadline.
    """
    return and_(C.closed_at.is_(None), past_limit(on), C.received_at < p.end)


def past_limit(on: dt.date) -> ColumnElement[bool]:
    """Past its running limit on `on`, or past one it missed before a raise started a new one
    (cases.missed_deadline_on; deadlines.counted_deadline): pressure never hides a late case."""
    return or_(C.deadline_on < on, C.missed_deadline_on < on)


def within_limit(on: dt.date) -> ColumnElement[bool]:
    """The converse of `past_limit` for a case with a running limit."""
    return and_(C.deadline_on >= on, or_(C.missed_deadline_on.is_(None), C.missed_deadline_on >= on))


class rarely(FunctionElement[Any]):  # noqa: N801  (reads as a SQL function)
    """A condition few rows meet, said so to SQLite's planner: `likelihood(x, 0.001)`.

    ANALYZE's statistics know a column has five dispositions, not that 重点督办 is one case in a
    hundred; without the hint SQLite walks the received_at index over every case instead of the
    disposition index. Other databases see the plain condition. (Untyped on purpose: a Boolean
    type would make SQLAlchemy write `likelihood(…) = 1`, which hides the hint.)
    """

    inherit_cache = True
    name = "rarely"


@compiles(rarely)
def _rarely_plain(element: rarely, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(rarely, "sqlite")
def _rarely_sqlite(element: rarely, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.001)"


def key_cases(p: Period, scope: Scope) -> ColumnElement[bool]:
    """Key-supervised cases of the office's own level that were open at some time in the period."""
    return and_(rarely(C.disposition == "key_supervise"), C.level == scope.level,
                C.received_at < p.end, or_(C.closed_at.is_(None), C.closed_at >= p.start))


def referral(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
    """The case has a referral (移交纪检监察机关) meeting `clauses`."""
    return exists().where(RF.case_id == C.id, *clauses)


def review(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
    """The case has a review request (复查 / 复核) meeting `clauses`. A case has at most one request
    per level (services/reviews.py), so clauses on one level meet the same row."""
    return exists().where(RR.case_id == C.id, *clauses)


def _review_figure(level: str, column: str) -> Callable[[Period, Scope, dt.date], list[ColumnElement[bool]]]:
    """Cases with a request of `level` whose `column` (asked for, decided) falls in the period."""
    def build(p: Period, s: Scope, on: dt.date) -> list[ColumnElement[bool]]:
        return [review(RR.level == level, within(RR[column], p))]
    return build


def progressed_by(p: Period) -> ColumnElement[bool]:
    return exists().where(HR.case_id == C.id, HR.kind == "progress", HR.submitted_at < p.end)


@dataclass(frozen=True)
class FigureDef:
    """How a figure is counted: its source and the predicate over cases (and events/callbacks)."""

    source: str  # "case", "event" or "callback"
    cases: Callable[[Period, Scope, dt.date], list[ColumnElement[bool]]]
    # callback figures: "" every attempt, "reached" a result on the scale, "satisfied" one that
    # counts as satisfied by policy, "unreachable" 联系不上
    results: str = ""


def _case(build: Callable[[Period, Scope, dt.date], list[ColumnElement[bool]]]) -> FigureDef:
    return FigureDef("case", build)


FIGURES: dict[str, FigureDef] = {
    # The cohort: cases received in the period, and what became of them by its end.
    "received": _case(lambda p, s, on: [received(p)]),
    "disposed": _case(lambda p, s, on: [received(p), C.disposition.is_not(None)]),
    "undisposed": _case(lambda p, s, on: [received(p), C.disposition.is_(None)]),
    "cohort_closed": _case(lambda p, s, on: [received(p), closed_by(p)]),
    "dispatched": _case(lambda p, s, on: [received(p), dispatched_by(p)]),
    "responded": _case(lambda p, s, on: [received(p), dispatched_by(p), responded_by(p)]),
    "resolved": _case(lambda p, s, on: [received(p), dispatched_by(p), closed_by(p)]),
    "complained": _case(lambda p, s, on: [received(p), C.subject_id.is_not(None)]),
    # The flow: cases closed in the period, whenever received.
    "closed": _case(lambda p, s, on: [within(C.closed_at, p)]),
    "on_time": _case(lambda p, s, on: [within(C.closed_at, p), not_(late())]),
    "rehandled_closed": _case(lambda p, s, on: [within(C.closed_at, p), C.return_count > 0]),
    # The backlog at the end.
    "overdue": _case(lambda p, s, on: [overdue_at(p, on)]),
    "key": _case(lambda p, s, on: [key_cases(p, s)]),
    "key_progress": _case(lambda p, s, on: [key_cases(p, s), progressed_by(p)]),
    # Referrals to a discipline commission, counted apart from handling (group "outcome": the
    # commission's disposal, policy [referral.outcomes]).
    "referred": _case(lambda p, s, on: [referral(within(RF.referred_at, p))]),
    "referred_continuing": _case(lambda p, s, on: [referral(within(RF.referred_at, p),
                                                            RF.handling_continues.is_(True))]),
    "referral_concluded": _case(lambda p, s, on: [referral(within(RF.concluded_at, p))]),
    # 复查 / 复核 asked for and decided in the period (group "review_outcome": "level:outcome",
    # policy [reviews.outcomes]).
    **{f"{level}_{what}": _case(_review_figure(level, column))
       for level in ("reexamination", "recheck")
       for what, column in (("requested", "requested_at"), ("decided", "decided_at"))},
    # Actions taken in the period (件次).
    **{name: FigureDef("event", lambda p, s, on: []) for name in EVENT_FIGURES},
    "supervision": FigureDef("event", lambda p, s, on: []),  # actions from policy [reports]
    # Callbacks made in the period (次).
    "callback_attempts": FigureDef("callback", lambda p, s, on: []),
    "callbacks": FigureDef("callback", lambda p, s, on: [], results="reached"),
    "satisfied": FigureDef("callback", lambda p, s, on: [], results="satisfied"),
    "callback_unreachable": FigureDef("callback", lambda p, s, on: [], results="unreachable"),
    # Cases closed in the period whose complainant nobody could call (无法回访).
    "uncallable": _case(lambda p, s, on: [within(C.closed_at, p), uncallable()]),
}


def uncallable() -> ColumnElement[bool]:
    """A case handled by a unit (not a referral) whose complainant is anonymous: nobody to call.

    Reports name no identity column, whoever reads them (the phone included): a real-name
    complainant who left no phone is never sampled either, and such a case is closed with the
    reason no_contact, which its close event records."""
    return and_(or_(C.disposition.is_(None), C.disposition != "refer"),
                not_(exists().where(CP.id == C.complainant_id, CP.real_name == true())))


def callback_results(results: str, satisfied: Iterable[str]) -> list[ColumnElement[bool]]:
    """The callbacks a callback figure counts (see FigureDef.results)."""
    if results == "reached":
        return [RESULT != UNREACHABLE]
    if results == "satisfied":
        return [RESULT.in_(tuple(satisfied))]
    if results == "unreachable":
        return [RESULT == UNREACHABLE]
    return []


def event_clause(actions: Iterable[str]) -> ColumnElement[bool]:
    """Events of these actions ("action>state": that action when it ended in that state)."""
    plain = [a for a in actions if ">" not in a]
    pairs = (x.split(">", 1) for x in actions if ">" in x)
    ended = [and_(E.action == a, E.to_state == st) for a, st in pairs]
    return or_(E.action.in_(plain), *ended)


def group_clauses(conn: Connection, where: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """Filters for a figure's group: level, channel, disposition, unit (org code), subject."""
    out: list[ColumnElement[bool]] = []
    for key, value in where.items():
        if key == "level":
            out.append(C.level == value)
        elif key == "channel":
            out.append(C.channel == value)
        elif key == "disposition":
            out.append(C.disposition.is_(None) if value is None else C.disposition == value)
        elif key == "unit":
            org_id = conn.execute(select(O.id).where(O.code == value)).scalar()
            out.append(C.unit_id.is_(None) if value is None else C.unit_id == (org_id or -1))
        elif key == "subject":
            out.append(C.subject_id.in_(select(S.id).where(S.name == value, S.kind == "unit")))
        elif key == "outcome":
            out.append(referral(RF.outcome == value))
        elif key == "review_outcome":
            level, _, outcome = str(value).partition(":")
            out.append(review(RR.level == level, RR.outcome == outcome))
        elif key in ("action", "method", "result"):
            continue  # event and callback figures read them themselves
        elif key == "decline_reason":  # the event figure "declined": the reason its event records
            out.append(E.data["decline_reason"].as_string() == str(value))
        else:
            raise InvalidActionInput(action="report", field="where",
                                     message="unknown group; known: level, channel, disposition, unit, "
                                             "subject, outcome, review_outcome, action, method, result, "
                                             "decline_reason")
    return out


def event_actions(figure: str, where: Mapping[str, Any], supervision: Iterable[str]) -> tuple[str, ...]:
    """The audit actions an event figure counts (narrowed by an "action" group filter)."""
    actions = tuple(supervision) if figure == "supervision" else EVENT_FIGURES[figure]
    if "action" in where:
        wanted = str(where["action"])
        return (wanted,) if wanted in actions else ()
    return actions


def list_figure(conn: Connection, *, figure: str, period: Period, scope: Scope, on: dt.date,
                where: Mapping[str, Any] | None = None, supervision: Iterable[str] = (),
                satisfied: Iterable[str] = ()) -> list[tuple[str, int]]:
    """The cases behind a figure, as (case number, how many times it counts), by case number.

    For case figures every case counts once; for event and callback figures a case counts once
    per action or callback, so the counts always add up to the figure. `supervision` is the
    policy's list of supervision actions ([reports] supervision_actions), `satisfied` the
    results that count as satisfied ([callbacks] satisfied_results).
    """
    where = dict(where or {})
    defn = FIGURES.get(figure)
    if defn is None:
        raise InvalidActionInput(action="report", field="figure",
                                 message=f"unknown figure; known: {', '.join(FIGURES)}")
    filters = [scope.clause(), *group_clauses(conn, where)]
    if defn.source == "case":
        query = select(C.number, literal(1)).where(*defn.cases(period, scope, on), *filters)
    elif defn.source == "event":
        query = (select(C.number, func.count()).select_from(CASES.join(
            EVENTS, E.case_id == C.id))
            .where(event_clause(event_actions(figure, where, supervision)), within(E.at, period),
                   *filters)
            .group_by(C.number))
    else:
        picked = callback_results(defn.results, satisfied)
        if "method" in where:
            picked.append(CB.method == where["method"])
        if "result" in where:
            picked.append(RESULT == where["result"])
        query = (select(C.number, func.count()).select_from(CASES.join(
            CALLBACKS, CB.case_id == C.id))
            .where(within(CB.called_at, period), *picked, *filters).group_by(C.number))
    return [(number, int(n)) for number, n in conn.execute(query.order_by(C.number))]


def count_figure(conn: Connection, *, figure: str, period: Period, scope: Scope, on: dt.date,
                 where: Mapping[str, Any] | None = None, supervision: Iterable[str] = (),
                 satisfied: Iterable[str] = ()) -> int:
    """One figure counted on its own (the report counts many at once; this is the check)."""
    return sum(n for _, n in list_figure(conn, figure=figure, period=period, scope=scope, on=on,
                                         where=where, supervision=supervision, satisfied=satisfied))


# -- aggregate queries -------------------------------------------------------------------------

def flag_sum(clause: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((clause, 1), else_=0)), 0)


@dataclass
class CohortRow:
    level: str | None
    channel: str | None
    disposition: str | None
    unit_id: int | None
    received: int = 0
    cohort_closed: int = 0
    dispatched: int = 0
    responded: int = 0
    resolved: int = 0


def _flag(clause: ColumnElement[bool], name: str) -> Any:
    return case((clause, 1), else_=0).label(name)


def cohort(conn: Connection, period: Period, scope: Scope, *, detailed: bool = True) -> list[CohortRow]:
    """Cases received in the period by level, channel, disposition and unit, with their fate.

    The facts (closed, dispatched, answered by the end) are GROUP BY keys, not SUM(CASE …)
    terms: a key is evaluated once per case, where each SUM term would probe the audit trail
    again. `detailed=False` groups by the facts alone (for the periods a report compares with).
    """
    keys = [C.level, C.channel, C.disposition, C.unit_id] if detailed else []
    flags = [_flag(closed_by(period), "c"), _flag(dispatched_by(period), "d"),
             _flag(responded_by(period), "r")]
    query = (select(*keys, *flags, func.count()).where(received(period), scope.clause())
             .group_by(*keys, *flags))
    rows: dict[tuple[Any, ...], CohortRow] = {}
    for row in conn.execute(query):
        key = tuple(row[:len(keys)]) if detailed else (None, None, None, None)
        closed, dispatched, responded, n = row[len(keys):]
        out = rows.get(key)
        if out is None:
            out = rows[key] = CohortRow(*key)
        out.received += n
        out.cohort_closed += n * closed
        out.dispatched += n * dispatched
        out.responded += n * (dispatched and responded)
        out.resolved += n * (dispatched and closed)
    return list(rows.values())


@dataclass
class FlowRow:
    level: str | None
    unit_id: int | None
    closed: int = 0
    on_time: int = 0
    rehandled_closed: int = 0


def flow(conn: Connection, period: Period, scope: Scope, *, detailed: bool = True) -> list[FlowRow]:
    """Cases closed in the period, by level and unit: on time, and after re-handling."""
    keys = [C.level, C.unit_id] if detailed else []
    flags = [_flag(late(), "l"), _flag(C.return_count > 0, "h")]
    query = (select(*keys, *flags, func.count()).where(within(C.closed_at, period), scope.clause())
             .group_by(*keys, *flags))
    rows: dict[tuple[Any, ...], FlowRow] = {}
    for row in conn.execute(query):
        key = tuple(row[:len(keys)]) if detailed else (None, None)
        was_late, rehandled, n = row[len(keys):]
        out = rows.get(key)
        if out is None:
            out = rows[key] = FlowRow(*key)
        out.closed += n
        out.on_time += n * (not was_late)
        out.rehandled_closed += n * rehandled
    return list(rows.values())


def overdue(conn: Connection, period: Period, scope: Scope, on: dt.date) -> dict[tuple[str, int | None], int]:
    """Open cases past their deadline at the end of the period, by (level, unit)."""
    query = (select(C.level, C.unit_id, func.count()).where(overdue_at(period, on), scope.clause())
             .group_by(C.level, C.unit_id))
    return {(level, unit): n for level, unit, n in conn.execute(query)}


def events(conn: Connection, period: Period, scope: Scope, actions: Iterable[str]
           ) -> dict[tuple[str, int | None], int]:
    """Actions taken in the period, by (action, unit of the case); an "action>state" asked for is
    also counted under that name (the action when it ended in that state)."""
    actions = tuple(actions)
    ended = {tuple(a.split(">", 1)) for a in actions if ">" in a}
    query = (select(E.action, E.to_state, C.unit_id, func.count())
             .select_from(EVENTS.join(CASES, E.case_id == C.id))
             .where(E.action.in_(tuple({a.split(">", 1)[0] for a in actions})), within(E.at, period),
                    scope.clause())
             .group_by(E.action, E.to_state, C.unit_id))
    out: dict[tuple[str, int | None], int] = {}
    for action, to_state, unit, n in conn.execute(query):
        out[(action, unit)] = out.get((action, unit), 0) + n
        if (action, to_state) in ended:
            key = (f"{action}>{to_state}", unit)
            out[key] = out.get(key, 0) + n
    return out


def callbacks(conn: Connection, period: Period, scope: Scope, satisfied: Iterable[str]
              ) -> dict[int | None, tuple[int, int]]:
    """Callbacks in the period that reached the complainant, by unit of the case: (all, counted
    satisfied by policy `satisfied`). 联系不上 attempts are no callback: counted apart."""
    query = (select(C.unit_id, func.count(), flag_sum(RESULT.in_(tuple(satisfied))))
             .select_from(CALLBACKS.join(CASES, CB.case_id == C.id))
             .where(within(CB.called_at, period), RESULT != UNREACHABLE, scope.clause())
             .group_by(C.unit_id))
    return {unit: (int(n), int(sat)) for unit, n, sat in conn.execute(query)}


def callback_breakdown(conn: Connection, period: Period, scope: Scope
                       ) -> tuple[dict[str, int], dict[str, int]]:
    """Callback attempts in the period by method, and by result (联系不上 included)."""
    base = (select(func.count()).select_from(CALLBACKS.join(CASES, CB.case_id == C.id))
            .where(within(CB.called_at, period), scope.clause()))
    # A callback from before 0015 has no method: counted as "" (未记录).
    methods = {m or "": int(n) for n, m in conn.execute(base.add_columns(CB.method).group_by(CB.method))}
    results = {str(r): int(n) for n, r in conn.execute(base.add_columns(RESULT).group_by(RESULT))}
    return methods, results


def complained(conn: Connection, period: Period, scope: Scope, top: int) -> list[tuple[str, int]]:
    """The units complained about most in the cohort (信访工作条例 art. 41)."""
    query = (select(S.name, func.count().label("n"))
             .select_from(CASES.join(SUBJECTS, C.subject_id == S.id))
             .where(received(period), scope.clause(), S.kind == "unit")
             .group_by(S.name).order_by(func.count().desc(), S.name).limit(top))
    return [(name, int(n)) for name, n in conn.execute(query)]


@dataclass
class KeyCaseRow:
    number: str
    title: str
    state: str
    unit_id: int | None
    received_at: dt.datetime
    closed_at: dt.datetime | None
    progress_reports: int
    last_progress_at: dt.datetime | None


def key_case_rows(conn: Connection, period: Period, scope: Scope) -> list[KeyCaseRow]:
    """The office's own key-supervised cases open in the period, with their progress reports."""
    progress = (select(HR.case_id, func.count().label("n"), func.max(HR.submitted_at).label("last"))
                .where(HR.kind == "progress", HR.submitted_at < period.end)
                .group_by(HR.case_id).subquery())
    query = (select(C.number, report_title(CASES), C.state, C.unit_id, C.received_at, C.closed_at,
                    func.coalesce(progress.c.n, 0), progress.c.last)
             .select_from(CASES.outerjoin(progress, progress.c.case_id == C.id))
             .where(key_cases(period, scope), scope.clause()).order_by(C.received_at, C.number))
    rows = []
    for row in conn.execute(query):
        closed_at = row[5] if row[5] is not None and row[5] < period.end else None
        received_at = _aware(row[4])
        assert received_at is not None
        rows.append(KeyCaseRow(row[0], row[1], row[2], row[3], received_at, _aware(closed_at),
                               int(row[6]), _aware(row[7])))
    return rows


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def weekly(conn: Connection, weeks: list[Period], scope: Scope, *, until: dt.datetime | None = None
           ) -> list[tuple[int, int]]:
    """(received, closed) per week, the last week cut at `until` (the period's end).

    The CASE is a binary search (nested, log2(weeks) comparisons a row), so three years of weeks
    over a million cases cost as little per row as a month does; it is portable SQL and exact at
    the bounds, unlike date arithmetic in floating-point days.
    """
    if not weeks:
        return []
    span = Period("range", "trend", weeks[0].first, weeks[-1].local_end)
    ends = [w.end for w in weeks]
    cut = (lambda column: column < until) if until is not None else (lambda column: true())

    def search(column: Any, lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(lo)
        mid = (lo + hi) // 2
        return case((column < ends[mid], search(column, lo, mid)), else_=search(column, mid + 1, hi))

    def bucket(column: Any) -> Any:
        return search(column, 0, len(weeks) - 1)

    out = [[0, 0] for _ in weeks]
    for index, column in ((0, C.received_at), (1, C.closed_at)):
        b = bucket(column).label("b")
        query = (select(b, func.count()).where(within(column, span), cut(column), scope.clause())
                 .group_by(b))
        for i, n in conn.execute(query):
            if i < len(weeks):
                out[i][index] = int(n)
    return [(r, c) for r, c in out]


def first_received(conn: Connection, scope: Scope) -> dt.datetime | None:
    return _aware(conn.execute(select(func.min(C.received_at)).where(scope.clause())).scalar())


@dataclass
class DeadlineGroup:
    responsible_id: int
    deadline_start: dt.date | None
    deadline_on: dt.date
    count: int


def responsible() -> Any:
    """Who must move a case now: its unit, or the office while it awaits triage."""
    return func.coalesce(C.unit_id, C.office_id)


def overdue_by_org(conn: Connection, scope: Scope, at: dt.datetime) -> dict[int, int]:
    """Open cases past their limit on `at`'s day, per responsible org: red needs no calendar."""
    query = (select(responsible(), func.count())
             .where(C.closed_at.is_(None), past_limit(local_date(at)), C.received_at <= at,
                    scope.clause())
             .group_by(responsible()))
    return {int(org): int(n) for org, n in conn.execute(query)}


def open_deadlines(conn: Connection, scope: Scope, at: dt.datetime) -> list[DeadlineGroup]:
    """Open cases whose limit still runs on `at`'s day, by (responsible org, start, deadline).

    Their colour (none, blue, yellow) needs the working-day calendar, so it is computed per
    group in Python; overdue cases are counted apart (`overdue_by_org`), so old backlogs do not
    swell the groups.
    """
    org = responsible()
    query = (select(org, C.deadline_start, C.deadline_on, func.count())
             .where(C.closed_at.is_(None), within_limit(local_date(at)), C.received_at <= at,
                    scope.clause())
             .group_by(org, C.deadline_start, C.deadline_on))
    return [DeadlineGroup(int(r), s, d, int(n)) for r, s, d, n in conn.execute(query)]


def at_date(period: Period, now: dt.datetime) -> dt.date:
    """The day "overdue" is judged on: the period's last moment, or now if the period has not ended."""
    return local_date(min(period.moment(), now))

