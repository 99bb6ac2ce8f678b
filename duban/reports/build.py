"""Building a report: run the aggregate queries once, in one snapshot, and assemble the model.

All queries of a report run in one read transaction (REPEATABLE READ on PostgreSQL; SQLite's WAL
read transaction is a snapshot already), so its figures add up even while cases move.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from duban.config.policy import CALLBACK_SCALE
from duban.errors import OrgNotFound
from duban.reports import figures as F
from duban.reports.board import warning_lines
from duban.reports.ledger import LedgerRow, ledger_rows
from duban.reports.model import (
    Board,
    Change,
    Figure,
    KeyCase,
    Rate,
    Report,
    Trace,
    UnitLine,
    WeekPoint,
)
from duban.reports.narrative import narrative
from duban.reports.period import Period, parse_period
from duban.reports.rates import RANKED, RATES, ratio, score
from duban.services.callbackrules import UNREACHABLE
from duban.services.context import ServiceContext

LEVELS = ("province", "city", "county")
# Figures set against the previous period and last year. Not "overdue": it is judged on limits
# as they stand now, so an earlier period's overdue count would be understated, not compared.
COMPARED = ("received", "disposed", "closed", "on_time", "response", "resolution", "satisfaction")


# SQLite reads a report's index pages through a memory map rather than a read() per page, which
# makes a large monthly report faster (bench/report_bench.py, docs/bench.md). The
# mapping is a ceiling, not an allocation; it shares the OS page cache.
SQLITE_MMAP_BYTES = 1 << 30


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection whose queries all see the same state of the database."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        elif conn.dialect.name == "sqlite":
            # On the driver's connection: through SQLAlchemy it would open a transaction first.
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        with conn.begin():
            yield conn


def root_office(ctx: ServiceContext) -> str:
    """The code of the top office (no parent): the default office of a report."""
    with ctx.engine.connect() as conn:
        code = conn.execute(select(F.O.code).where(F.O.parent_id.is_(None), F.O.kind == "office")
                            .order_by(F.O.id)).scalar()
    if code is None:
        raise OrgNotFound("(top office)")
    return str(code)


def build_report(ctx: ServiceContext, period: Period | str, office_code: str | None = None, *,
                 now: dt.datetime | None = None) -> Report:
    """The report of `office_code` (default: the top office) for `period`, from the database."""
    period = parse_period(period) if isinstance(period, str) else period
    now = now or ctx.now()
    rows = _read(ctx, period, office_code or root_office(ctx), now)
    report = _assemble(ctx, rows, now)
    # The narrative reads the assembled figures, so it is written last.
    return dataclasses.replace(report, narrative=narrative(report))


@dataclass(frozen=True)
class _Rows:
    """What a report's queries returned, all read in one snapshot."""

    period: Period
    scope: F.Scope
    on: dt.date
    cohort: list[F.CohortRow]
    flow: list[F.FlowRow]
    overdue: dict[tuple[str, int | None], int]
    events: dict[tuple[str, int | None], int]
    callbacks: dict[int | None, tuple[int, int]]
    callback_methods: dict[str, int]
    callback_results: dict[str, int]
    callback_counts: dict[str, int]
    complained: list[tuple[str, int]]
    key_rows: list[F.KeyCaseRow]
    weeks: list[Period]
    trend: list[tuple[int, int]]
    board: Board
    commission: str
    referral_counts: dict[str, int]
    outcome_counts: dict[str, int]
    decline_counts: dict[str, int]
    review_counts: dict[str, tuple[str, dict[str, str], int]]
    comparisons: dict[str, dict[str, float | None]]


def _read(ctx: ServiceContext, period: Period, office_code: str, now: dt.datetime) -> _Rows:
    on = F.at_date(period, now)
    policy = ctx.policy
    satisfied = policy.callbacks.satisfied_results
    event_actions = [a for actions in F.EVENT_FIGURES.values() for a in actions]
    with snapshot(ctx.engine) as conn:
        scope = F.scope_of(conn, office_code)

        def count(figure: str, **where: str) -> int:
            return F.count_figure(conn, figure=figure, period=period, scope=scope, on=on, where=where or None)

        key_rows = F.key_case_rows(conn, period, scope)
        weeks = period.weeks(first_case=F.first_received(conn, scope) if period.cumulative else None)
        at = min(period.moment(), now)
        methods, results = F.callback_breakdown(conn, period, scope)
        return _Rows(
            period=period, scope=scope, on=on,
            cohort=F.cohort(conn, period, scope), flow=F.flow(conn, period, scope),
            overdue=F.overdue(conn, period, scope, on),
            events=F.events(conn, period, scope, [*event_actions, *policy.reports.supervision_actions]),
            callbacks=F.callbacks(conn, period, scope, satisfied),
            callback_methods=methods, callback_results=results,
            callback_counts={name: count(name) for name in CALLBACK_FIGURES},
            complained=F.complained(conn, period, scope, policy.reports.top_units),
            key_rows=key_rows, weeks=weeks, trend=F.weekly(conn, weeks, scope, until=period.end),
            board=Board(scope.office_code, scope.office_name, at, warning_lines(ctx, conn, scope, at), [],
                        ctx.labels),
            commission=_commission(conn, scope),
            referral_counts={name: count(figure) for name, figure in REFERRAL_FIGURES.items()},
            outcome_counts={o: count("referral_concluded", outcome=o) for o in policy.referral.outcomes},
            # 不予受理 in the period by reason (policy [intake.decline_reasons]), 件次.
            decline_counts={r: count("declined", decline_reason=r) for r in policy.intake.decline_reasons},
            review_counts=_review_counts(conn, ctx, period=period, scope=scope, on=on),
            comparisons={which: _headline(conn, p, scope, satisfied)
                         for which, p in (("previous", period.previous()),
                                          ("last_year", period.last_year())) if p is not None},
        )


def _assemble(ctx: ServiceContext, rows: _Rows, now: dt.datetime) -> Report:
    period, scope = rows.period, rows.scope
    b = _Builder(period, scope)
    supervision_actions = list(ctx.policy.reports.supervision_actions)
    events = rows.events
    figures = b.headline(rows.cohort, rows.flow, rows.overdue, rows.callbacks)
    figures.update({name: b.fig(name, n, "jian" if name == "uncallable" else "jianci")
                    for name, n in rows.callback_counts.items()})
    figures["key"] = b.fig("key", len(rows.key_rows))
    figures["key_progress"] = b.fig("key_progress", sum(1 for r in rows.key_rows if r.progress_reports))
    supervision = {a: b.fig("supervision", sum(n for (act, _), n in events.items() if act == a),
                            "jianci", action=a) for a in supervision_actions}
    figures["supervision"] = b.fig("supervision", sum(f.value for f in supervision.values()), "jianci")
    event_figs = {name: b.fig(name, sum(n for (act, _), n in events.items() if act in actions), "jianci")
                  for name, actions in F.EVENT_FIGURES.items()}
    current = _values(figures)
    comparison = [Change(key, current[key], rows.comparisons.get("previous", {}).get(key),
                         rows.comparisons.get("last_year", {}).get(key), key in {r.key for r in RATES})
                  for key in COMPARED]
    return Report(
        office_code=scope.office_code, office_name=scope.office_name, office_level=scope.level,
        period=period, generated_at=now, judged_on=rows.on, figures=figures,
        received_grid=b.grid(rows.cohort), by_channel=b.by_channel(rows.cohort),
        by_level=b.by_level(rows.cohort, rows.flow, rows.overdue), dispositions=b.dispositions(rows.cohort),
        events=event_figs, supervision=supervision,
        rates={r.key: Rate(r.key, figures[r.numerator], figures[r.denominator]) for r in RATES},
        key_cases=[KeyCase(r.number, r.title, r.state, scope.names.get(r.unit_id or -1, ""),
                           r.received_at, r.closed_at, r.progress_reports, r.last_progress_at)
                   for r in rows.key_rows],
        complained=[(name, b.fig("complained", n, subject=name)) for name, n in rows.complained],
        ranking=b.ranking(rows.cohort, rows.flow, rows.overdue, rows.callbacks, events, ctx),
        comparison=comparison,
        previous_key=p.key if (p := period.previous()) else None,
        last_year_key=p.key if (p := period.last_year()) else None,
        trend=[WeekPoint(w, r, c) for w, (r, c) in zip(rows.weeks, rows.trend, strict=True)],
        warnings=rows.board, narrative="", labels=ctx.labels, commission_name=rows.commission,
        top_units=ctx.policy.reports.top_units,
        referrals={name: b.fig(REFERRAL_FIGURES[name], n) for name, n in rows.referral_counts.items()},
        referral_outcomes={o: b.fig("referral_concluded", n, outcome=o)
                           for o, n in rows.outcome_counts.items()},
        declines={r: b.fig("declined", n, "jianci", decline_reason=r)
                  for r, n in rows.decline_counts.items()},
        callback_methods={m: b.fig("callback_attempts", n, "jianci", method=m)
                          for m, n in sorted(rows.callback_methods.items())},
        callback_results={r: b.fig("callback_attempts", rows.callback_results.get(r, 0), "jianci", result=r)
                          for r in (*CALLBACK_SCALE, UNREACHABLE)},
        reviews={key: b.fig(figure, n, **where) for key, (figure, where, n) in rows.review_counts.items()},
        ledger=_ledger_reader(ctx, period, scope, rows.on),
    )


def _ledger_reader(ctx: ServiceContext, period: Period, scope: F.Scope, on: dt.date
                   ) -> Callable[[], Iterator[LedgerRow]]:
    """The 台账's rows, read in a snapshot of their own when a renderer asks for them."""
    def ledger() -> Iterator[LedgerRow]:
        with snapshot(ctx.engine) as conn:
            yield from ledger_rows(conn, period=period, scope=scope, on=on,
                                   supervision=ctx.policy.reports.supervision_actions,
                                   satisfied=ctx.policy.callbacks.satisfied_results)

    return ledger


def cases_behind(ctx: ServiceContext, trace: Trace, *, now: dt.datetime | None = None
                 ) -> list[tuple[str, int]]:
    """The cases behind a figure of a report, with how many times each counts (see Trace)."""
    period = parse_period(trace.period)
    on = F.at_date(period, now or ctx.now())
    with snapshot(ctx.engine) as conn:
        scope = F.scope_of(conn, trace.office)
        return F.list_figure(conn, figure=trace.figure, period=period, scope=scope, on=on,
                             where=dict(trace.where),
                             supervision=ctx.policy.reports.supervision_actions,
                             satisfied=ctx.policy.callbacks.satisfied_results)


def _review_counts(conn: Connection, ctx: ServiceContext, *, period: Period, scope: F.Scope,
                   on: dt.date) -> dict[str, tuple[str, dict[str, str], int]]:
    """复查 / 复核 of the period: per level, asked for, decided, and decided by each outcome."""
    out: dict[str, tuple[str, dict[str, str], int]] = {}
    for level in ("reexamination", "recheck"):
        for what in ("requested", "decided"):
            figure = f"{level}_{what}"
            out[figure] = (figure, {}, F.count_figure(conn, figure=figure, period=period, scope=scope, on=on))
        for outcome in ctx.policy.reviews.outcomes:
            where = {"review_outcome": f"{level}:{outcome}"}
            out[f"{level}:{outcome}"] = (f"{level}_decided", where, F.count_figure(
                conn, figure=f"{level}_decided", period=period, scope=scope, on=on, where=where))
    return out


def _commission(conn: Connection, scope: F.Scope) -> str:
    """The name of the discipline commission of the office's region, or of the nearest above."""
    office_id: int | None = scope.office_id
    while office_id is not None:
        name = conn.execute(select(F.O.name).where(F.O.parent_id == office_id,
                                                   F.O.kind == "commission")).scalar()
        if name:
            return str(name)
        office_id = conn.execute(select(F.O.parent_id).where(F.O.id == office_id)).scalar()
    return ""


def _values(figures: dict[str, Figure]) -> dict[str, float | None]:
    out: dict[str, float | None] = {k: float(f.value) for k, f in figures.items()}
    for r in RATES:
        out[r.key] = ratio(figures[r.numerator].value, figures[r.denominator].value)
    return out


def _headline(conn: Connection, period: Period, scope: F.Scope, satisfied: list[str]
              ) -> dict[str, float | None]:
    """The compared figures of another period (环比/同比), from the same queries."""
    b = _Builder(period, scope)
    figures = b.headline(F.cohort(conn, period, scope, detailed=False),
                         F.flow(conn, period, scope, detailed=False), {},
                         F.callbacks(conn, period, scope, satisfied))
    return _values(figures)


# Callbacks counted apart from 满意率: every attempt, 联系不上 attempts, cases closed as
# unreachable (an event figure: Report.events has it too) and closed cases nobody could call.
CALLBACK_FIGURES = ("callback_attempts", "callback_unreachable", "uncallable")

# The referral figures of a report (Report.referrals) and the figure each one is.
REFERRAL_FIGURES = {"referred": "referred", "continuing": "referred_continuing",
                    "concluded": "referral_concluded"}


class _Builder:
    """Sums the aggregate rows into figures, each with the trace that lists its cases."""

    def __init__(self, period: Period, scope: F.Scope) -> None:
        self.period = period
        self.scope = scope

    def fig(self, figure: str, value: int, measure: str = "jian", **where: Any) -> Figure:
        trace = Trace(figure, self.period.key, self.scope.office_code, tuple(where.items()))
        return Figure(int(value), trace, measure)

    def headline(self, cohort: list[F.CohortRow], flow: list[F.FlowRow],
                 overdue: dict[tuple[str, int | None], int],
                 callbacks: dict[int | None, tuple[int, int]]) -> dict[str, Figure]:
        received = sum(r.received for r in cohort)
        disposed = sum(r.received for r in cohort if r.disposition is not None)
        return {
            "received": self.fig("received", received),
            "disposed": self.fig("disposed", disposed),
            "undisposed": self.fig("undisposed", received - disposed),
            "cohort_closed": self.fig("cohort_closed", sum(r.cohort_closed for r in cohort)),
            "dispatched": self.fig("dispatched", sum(r.dispatched for r in cohort)),
            "responded": self.fig("responded", sum(r.responded for r in cohort)),
            "resolved": self.fig("resolved", sum(r.resolved for r in cohort)),
            "closed": self.fig("closed", sum(r.closed for r in flow)),
            "on_time": self.fig("on_time", sum(r.on_time for r in flow)),
            "rehandled_closed": self.fig("rehandled_closed", sum(r.rehandled_closed for r in flow)),
            "overdue": self.fig("overdue", sum(overdue.values())),
            "callbacks": self.fig("callbacks", sum(n for n, _ in callbacks.values()), "jianci"),
            "satisfied": self.fig("satisfied", sum(s for _, s in callbacks.values()), "jianci"),
        }

    def grid(self, cohort: list[F.CohortRow]) -> dict[tuple[str, str], Figure]:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for r in cohort:
            counts[(str(r.level), str(r.channel))] += r.received
        return {key: self.fig("received", n, level=key[0], channel=key[1])
                for key, n in sorted(counts.items())}

    def by_channel(self, cohort: list[F.CohortRow]) -> dict[str, Figure]:
        counts: dict[str, int] = defaultdict(int)
        for r in cohort:
            counts[str(r.channel)] += r.received
        return {channel: self.fig("received", n, channel=channel) for channel, n in sorted(counts.items())}

    def by_level(self, cohort: list[F.CohortRow], flow: list[F.FlowRow],
                 overdue: dict[tuple[str, int | None], int]) -> dict[str, dict[str, Figure]]:
        out: dict[str, dict[str, Figure]] = {}
        for level in LEVELS:
            rows = [r for r in cohort if r.level == level]
            closed = [r for r in flow if r.level == level]
            out[level] = {
                "received": self.fig("received", sum(r.received for r in rows), level=level),
                "disposed": self.fig("disposed", sum(r.received for r in rows if r.disposition),
                                     level=level),
                "cohort_closed": self.fig("cohort_closed", sum(r.cohort_closed for r in rows),
                                          level=level),
                "dispatched": self.fig("dispatched", sum(r.dispatched for r in rows), level=level),
                "responded": self.fig("responded", sum(r.responded for r in rows), level=level),
                "resolved": self.fig("resolved", sum(r.resolved for r in rows), level=level),
                "closed": self.fig("closed", sum(r.closed for r in closed), level=level),
                "on_time": self.fig("on_time", sum(r.on_time for r in closed), level=level),
                "overdue": self.fig("overdue", sum(n for (lv, _), n in overdue.items() if lv == level),
                                    level=level),
            }
        return out

    def dispositions(self, cohort: list[F.CohortRow]) -> dict[str, dict[str, Figure]]:
        """Cases received by current disposition, per level and for all levels ("all")."""
        counts: dict[tuple[str, str | None], int] = defaultdict(int)
        for r in cohort:
            counts[(str(r.level), r.disposition)] += r.received
            counts[("all", r.disposition)] += r.received
        out: dict[str, dict[str, Figure]] = {}
        for level in ("all", *LEVELS):
            out[level] = {}
            for disposition in (*F.DISPOSITIONS, None):
                where: dict[str, Any] = {"disposition": disposition}
                if level != "all":
                    where = {"level": level, **where}
                out[level][disposition or "none"] = self.fig(
                    "received", counts.get((level, disposition), 0), **where)
        return out

    def ranking(self, cohort: list[F.CohortRow], flow: list[F.FlowRow],
                overdue: dict[tuple[str, int | None], int],
                callbacks: dict[int | None, tuple[int, int]],
                events: dict[tuple[str, int | None], int], ctx: ServiceContext) -> list[UnitLine]:
        """Handling units by weighted score of the three rates (policy [reports.ranking])."""
        policy = ctx.policy.reports
        sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in cohort:
            if r.unit_id is not None:
                for name in ("dispatched", "responded", "resolved"):
                    sums[r.unit_id][name] += getattr(r, name)
        for f in flow:
            if f.unit_id is not None:
                sums[f.unit_id]["closed"] += f.closed
                sums[f.unit_id]["on_time"] += f.on_time
        for (_, unit), n in overdue.items():
            if unit is not None:
                sums[unit]["overdue"] += n
        for unit, (n, sat) in callbacks.items():
            if unit is not None:
                sums[unit]["callbacks"] += n
                sums[unit]["satisfied"] += sat
        for (action, unit), n in events.items():
            if unit is not None and action == "send_back":
                sums[unit]["returns"] += n
        lines = []
        # A discipline commission is not a handling unit: its referrals are counted apart.
        not_ranked = set(ctx.policy.dispatch.refer_kinds)
        for unit_id, counts in sums.items():
            if counts["dispatched"] < policy.ranking_min_cases:
                continue
            if self.scope.kinds.get(unit_id) in not_ranked:
                continue
            code = self.scope.codes.get(unit_id, str(unit_id))
            figs = {name: self.fig(name, counts[name], "jianci" if name in ("callbacks", "satisfied",
                                                                           "returns") else "jian",
                                   unit=code)
                    for name in ("dispatched", "responded", "resolved", "closed", "on_time",
                                 "overdue", "callbacks", "satisfied", "returns")}
            rates = {r.key: Rate(r.key, figs[r.numerator], figs[r.denominator]) for r in RATES}
            value = score({k: rates[k].value for k in RANKED}, policy.ranking)
            lines.append(UnitLine(code, self.scope.names.get(unit_id, code), figs, rates, value))
        lines.sort(key=lambda u: (u.score is None, -(u.score or 0), -u.figures["dispatched"].value,
                                  u.code))
        for index, line in enumerate(lines, start=1):
            line.rank = index if line.score is not None else None
        return lines
