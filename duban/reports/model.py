"""What a report holds: figures that know how to list their cases, rates built from them, tables.

Renderers (terminal, HTML, XLSX, e-mail) read only this; none of them queries the database, so
every format shows the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from duban.config.policy import Labels
from duban.reports.period import Period
from duban.reports.rates import ratio

if TYPE_CHECKING:
    from duban.reports.ledger import LedgerRow


@dataclass(frozen=True)
class Trace:
    """How to list the cases behind a figure: `duban report --cases` and the /reports page run it."""

    figure: str  # a key of duban.reports.figures.FIGURES
    period: str  # Period.key
    office: str  # office code
    where: tuple[tuple[str, Any], ...] = ()  # group filters: level, channel, disposition, unit, ...

    def narrowed(self, **where: Any) -> Trace:
        return Trace(self.figure, self.period, self.office, (*self.where, *where.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"figure": self.figure, "period": self.period, "office": self.office,
                "where": dict(self.where)}

    def query_string(self) -> str:
        """URL query for the case list of this figure (issue 5's pages link here)."""
        pairs = [("figure", self.figure), ("period", self.period), ("office", self.office)]
        pairs += [(k, "" if v is None else str(v)) for k, v in self.where]
        return urlencode(pairs)

    def cli(self) -> str:
        where = "".join(f" --where {k}={'' if v is None else v}" for k, v in self.where)
        return f"duban report --period '{self.period}' --office {self.office} --cases {self.figure}{where}"


@dataclass(frozen=True)
class Figure:
    value: int
    trace: Trace
    measure: str = "jian"  # jian 件 (cases) or jianci 件次 (actions, callbacks)


@dataclass(frozen=True)
class Rate:
    key: str
    numerator: Figure
    denominator: Figure

    @property
    def value(self) -> float | None:
        return ratio(self.numerator.value, self.denominator.value)


@dataclass
class UnitLine:
    """One handling unit in the ranking."""

    code: str
    name: str
    figures: dict[str, Figure]  # dispatched, responded, resolved, callbacks, satisfied, closed, ...
    rates: dict[str, Rate]
    score: float | None
    rank: int | None = None


@dataclass
class KeyCase:
    number: str
    title: str
    state: str
    unit: str
    received_at: dt.datetime
    closed_at: dt.datetime | None
    progress_reports: int
    last_progress_at: dt.datetime | None

    @property
    def progressed(self) -> bool:
        return self.progress_reports > 0


@dataclass
class Change:
    """A headline figure against the previous period (环比) and the same period last year (同比)."""

    key: str
    current: float | None
    previous: float | None
    last_year: float | None
    is_rate: bool

    @staticmethod
    def delta(current: float | None, base: float | None, is_rate: bool) -> float | None:
        """Relative change for counts, difference in points for rates; None without a base."""
        if current is None or base is None:
            return None
        if is_rate:
            return current - base
        return (current - base) / base if base else None

    @property
    def mom(self) -> float | None:
        return self.delta(self.current, self.previous, self.is_rate)

    @property
    def yoy(self) -> float | None:
        return self.delta(self.current, self.last_year, self.is_rate)


@dataclass
class WeekPoint:
    week: Period
    received: int
    closed: int


@dataclass
class WarningLine:
    """Open cases of one responsible org by warning colour (the board's row)."""

    code: str
    name: str
    red: int = 0
    yellow: int = 0
    blue: int = 0
    none: int = 0

    @property
    def total(self) -> int:
        return self.red + self.yellow + self.blue + self.none

    def add(self, colour: str, n: int) -> None:
        setattr(self, colour, getattr(self, colour) + n)


@dataclass
class Board:
    """The warning board an office opens every morning: its open cases by unit and colour."""

    office_code: str
    office_name: str
    at: dt.datetime
    lines: list[WarningLine]
    red_cases: list[dict[str, Any]]
    labels: Labels = field(repr=False)

    @property
    def totals(self) -> WarningLine:
        total = WarningLine("", "")
        for line in self.lines:
            for colour in ("red", "yellow", "blue", "none"):
                total.add(colour, getattr(line, colour))
        return total


@dataclass
class Report:
    office_code: str
    office_name: str
    office_level: str
    period: Period
    generated_at: dt.datetime
    judged_on: dt.date  # the day "overdue" was judged on
    figures: dict[str, Figure]  # headline figures by FIGURES key (+ "supervision_total")
    received_grid: dict[tuple[str, str], Figure]  # (level, channel)
    by_channel: dict[str, Figure]
    by_level: dict[str, dict[str, Figure]]  # level -> figure name -> Figure
    dispositions: dict[str, dict[str, Figure]]  # level ("all" too) -> disposition -> Figure
    events: dict[str, Figure]  # EVENT_FIGURES keys
    supervision: dict[str, Figure]  # supervision action -> Figure
    rates: dict[str, Rate]
    key_cases: list[KeyCase]
    complained: list[tuple[str, Figure]]
    ranking: list[UnitLine]
    comparison: list[Change]
    previous_key: str | None
    last_year_key: str | None
    trend: list[WeekPoint]
    warnings: Board
    narrative: str
    labels: Labels = field(repr=False)
    commission_name: str = ""  # the discipline commission cases are referred to (移交省纪委监委)
    # 移交纪检监察机关, apart from handling: referred, of which handling continues, concluded in
    # the period; and concluded by the commission's outcome (policy [referral.outcomes]).
    referrals: dict[str, Figure] = field(default_factory=dict)
    referral_outcomes: dict[str, Figure] = field(default_factory=dict)
    # 不予受理 in the period by reason (policy [intake.decline_reasons]); the total is events["declined"].
    declines: dict[str, Figure] = field(default_factory=dict)
    # 回访 attempts in the period by method (phone, sms, visit; "" before methods were recorded)
    # and by result (the scale, then unreachable).
    callback_methods: dict[str, Figure] = field(default_factory=dict)
    callback_results: dict[str, Figure] = field(default_factory=dict)
    # 复查 / 复核: per level, asked for and decided in the period, and decided by outcome
    # ("reexamination_requested", "reexamination_decided", "reexamination:uphold", ...).
    reviews: dict[str, Figure] = field(default_factory=dict)
    top_units: int = 10  # policy [reports] top_units: rows at each end of a ranking on a page
    # The 台账: one row per case of the period, read from the database when a renderer asks.
    ledger: Callable[[], Iterator[LedgerRow]] | None = field(default=None, repr=False)

    def figure(self, key: str) -> Figure:
        return self.figures[key]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (for the API): every figure with its trace."""

        def fig(f: Figure) -> dict[str, Any]:
            return {"value": f.value, "measure": f.measure, "trace": f.trace.as_dict()}

        return {
            "office": {"code": self.office_code, "name": self.office_name, "level": self.office_level},
            "period": {"key": self.period.key, "kind": self.period.kind,
                       "first": self.period.first.isoformat(), "last": self.period.last.isoformat(),
                       "start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "generated_at": self.generated_at.isoformat(), "judged_on": self.judged_on.isoformat(),
            "narrative": self.narrative,
            "figures": {k: fig(f) for k, f in self.figures.items()},
            "rates": {k: {"value": r.value, "numerator": fig(r.numerator),
                          "denominator": fig(r.denominator),
                          "definition": self.labels.rates.get(f"{k}_definition", "")}
                      for k, r in self.rates.items()},
            "by_level": {lv: {k: fig(f) for k, f in figs.items()} for lv, figs in self.by_level.items()},
            "dispositions": {lv: {k: fig(f) for k, f in figs.items()}
                             for lv, figs in self.dispositions.items()},
            "received_by_channel": {k: fig(f) for k, f in self.by_channel.items()},
            "events": {k: fig(f) for k, f in self.events.items()},
            "supervision": {k: fig(f) for k, f in self.supervision.items()},
            "referrals": {k: fig(f) for k, f in self.referrals.items()},
            "referral_outcomes": {k: fig(f) for k, f in self.referral_outcomes.items()},
            "declines": {k: fig(f) for k, f in self.declines.items()},
            "callback_methods": {k: fig(f) for k, f in self.callback_methods.items()},
            "callback_results": {k: fig(f) for k, f in self.callback_results.items()},
            "reviews": {k: fig(f) for k, f in self.reviews.items()},
            "key_cases": [{"number": k.number, "title": k.title, "state": k.state, "unit": k.unit,
                           "progress_reports": k.progress_reports,
                           "last_progress_at": k.last_progress_at.isoformat() if k.last_progress_at
                           else None} for k in self.key_cases],
            "complained": [{"name": name, **fig(f)} for name, f in self.complained],
            "ranking": [{"rank": u.rank, "code": u.code, "name": u.name, "score": u.score,
                         "rates": {k: r.value for k, r in u.rates.items()},
                         "figures": {k: fig(f) for k, f in u.figures.items()}} for u in self.ranking],
            "comparison": [{"key": c.key, "current": c.current, "previous": c.previous,
                            "last_year": c.last_year, "mom": c.mom, "yoy": c.yoy, "is_rate": c.is_rate}
                           for c in self.comparison],
            "previous": self.previous_key, "last_year": self.last_year_key,
            "trend": [{"week": p.week.key, "received": p.received, "closed": p.closed}
                      for p in self.trend],
            "warnings": [{"code": w.code, "name": w.name, "red": w.red, "yellow": w.yellow,
                          "blue": w.blue, "none": w.none} for w in self.warnings.lines],
        }
