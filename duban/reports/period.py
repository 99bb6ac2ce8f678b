"""Reporting periods: day, week, month, quarter, half-year, year, a range, or "as of" a moment.

Offices report on a day/week/month/quarter/year cadence (seed 000: 日周月季年调度) in Beijing time;
the database stores UTC. A Period is a half-open interval [start, end) of Asia/Shanghai wall time,
exposed as UTC bounds for queries. "As of 2023-03-24 18:00" (截至…) is cumulative from the first
case and includes that moment itself, so its end is one microsecond after it.

Accepted texts (`parse_period`):
    2023-03-24            a day              2023-Q1     a quarter
    2023-W12              an ISO week        2023-H1     a half-year
    2023-03               a month            2023        a year
    2023-03-24 18:00      as of that moment (also 2023-03-24T18:00, or "..2023-03-24 18:00")
    2023-03-01..2023-03-15  a range of days, both included
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from duban.clock import SHANGHAI, as_utc
from duban.errors import InvalidActionInput
from duban.workcal import FIRST_DAY, LAST_DAY

Kind = Literal["day", "week", "month", "quarter", "half", "year", "range", "asof"]
_TICK = dt.timedelta(microseconds=1)
# Lower bound of "since the start": before any case Duban can hold.
EPOCH = dt.datetime(2000, 1, 1, tzinfo=SHANGHAI)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A reporting period; `key` is its canonical text, the one `parse_period` reads back."""

    kind: Kind
    key: str
    first: dt.date  # first day (Shanghai); EPOCH's date for "as of"
    local_end: dt.datetime  # exclusive end, Asia/Shanghai

    @property
    def local_start(self) -> dt.datetime:
        return EPOCH if self.kind == "asof" else _midnight(self.first)

    @property
    def start(self) -> dt.datetime:
        """Inclusive lower bound, UTC."""
        return as_utc(self.local_start)

    @property
    def end(self) -> dt.datetime:
        """Exclusive upper bound, UTC."""
        return as_utc(self.local_end)

    @property
    def last(self) -> dt.date:
        """The last day the period covers (Shanghai)."""
        return (self.local_end - _TICK).date()

    @property
    def cumulative(self) -> bool:
        return self.kind == "asof"

    def moment(self) -> dt.datetime:
        """The instant the period's "at the end" figures are taken at (UTC)."""
        return self.end - _TICK

    def previous(self) -> Period | None:
        """The period just before (环比); None for "as of", which has no predecessor."""
        if self.kind == "day":
            return day(self.first - dt.timedelta(days=1))
        if self.kind == "week":
            return week_of(self.first - dt.timedelta(days=7))
        if self.kind in ("month", "quarter", "half", "year"):
            months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[self.kind]
            return _months_period(self.kind, _add_months(self.first, -months))
        if self.kind == "range":
            span = self.last - self.first + dt.timedelta(days=1)
            return day_range(self.first - span, self.first - dt.timedelta(days=1))
        return None

    def last_year(self) -> Period | None:
        """The same period a year earlier (同比); None for "as of"."""
        if self.kind == "day":
            return day(_same_day_last_year(self.first))
        if self.kind == "week":
            year, number, _ = self.first.isocalendar()
            weeks = dt.date(year - 1, 12, 28).isocalendar()[1]
            return week(year - 1, min(number, weeks))
        if self.kind in ("month", "quarter", "half", "year"):
            return _months_period(self.kind, _add_months(self.first, -12))
        if self.kind == "range":
            return day_range(_same_day_last_year(self.first), _same_day_last_year(self.last))
        return None

    def weeks(self, *, first_case: dt.datetime | None = None, at_least: int = 8) -> list[Period]:
        """ISO weeks for the trend chart: those the period touches, widened back to `at_least`.

        An "as of" period starts at the week of the first case (`first_case`), not at EPOCH.
        """
        if self.kind == "asof":
            begin = (first_case.astimezone(SHANGHAI).date() if first_case else self.last)
        else:
            begin = self.first
        last_week = week_of(self.last)
        start = week_of(begin).first
        earliest = last_week.first - dt.timedelta(weeks=at_least - 1)
        if self.kind != "asof":
            start = min(start, earliest)
        out = []
        monday = start
        while monday <= last_week.first:
            out.append(week_of(monday))
            monday += dt.timedelta(days=7)
        return out


def _same_day_last_year(day_: dt.date) -> dt.date:
    try:
        return day_.replace(year=day_.year - 1)
    except ValueError:  # 29 February
        return day_.replace(year=day_.year - 1, day=28)


def day(d: dt.date) -> Period:
    return Period("day", d.isoformat(), d, _midnight(d + dt.timedelta(days=1)))


def week(year: int, number: int) -> Period:
    monday = dt.date.fromisocalendar(year, number, 1)
    return Period("week", f"{year}-W{number:02d}", monday, _midnight(monday + dt.timedelta(days=7)))


def week_of(d: dt.date) -> Period:
    year, number, _ = d.isocalendar()
    return week(year, number)


def month(year: int, number: int) -> Period:
    return _months_period("month", dt.date(year, number, 1))


def quarter(year: int, number: int) -> Period:
    return _months_period("quarter", dt.date(year, 3 * number - 2, 1))


def half(year: int, number: int) -> Period:
    return _months_period("half", dt.date(year, 6 * number - 5, 1))


def year(number: int) -> Period:
    return _months_period("year", dt.date(number, 1, 1))


def _months_period(kind: Kind, first: dt.date) -> Period:
    months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[kind]
    key = {
        "month": f"{first.year}-{first.month:02d}",
        "quarter": f"{first.year}-Q{(first.month - 1) // 3 + 1}",
        "half": f"{first.year}-H{(first.month - 1) // 6 + 1}",
        "year": f"{first.year}",
    }[kind]
    return Period(kind, key, first, _midnight(_add_months(first, months)))


def day_range(first: dt.date, last: dt.date) -> Period:
    if last < first:
        raise _bad(f"{first}..{last}", "the range ends before it starts")
    return Period("range", f"{first}..{last}", first, _midnight(last + dt.timedelta(days=1)))


def as_of(moment: dt.datetime) -> Period:
    """Everything up to and including `moment` (an aware datetime)."""
    local = as_utc(moment).astimezone(SHANGHAI)
    return Period("asof", f"..{local:%Y-%m-%d %H:%M}", EPOCH.date(), local + _TICK)


def current(kind: Kind, today: dt.date) -> Period:
    """The period of `kind` that contains `today`."""
    if kind == "day":
        return day(today)
    if kind == "week":
        return week_of(today)
    if kind == "month":
        return month(today.year, today.month)
    if kind == "quarter":
        return quarter(today.year, (today.month - 1) // 3 + 1)
    if kind == "half":
        return half(today.year, (today.month - 1) // 6 + 1)
    if kind == "year":
        return year(today.year)
    raise _bad(kind, "no current period of this kind")


_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d{4})-W(\d{1,2})"), "week"),
    (re.compile(r"(\d{4})-Q([1-4])"), "quarter"),
    (re.compile(r"(\d{4})-H([12])"), "half"),
    (re.compile(r"(\d{4})-(\d{1,2})"), "month"),
    (re.compile(r"(\d{4})"), "year"),
]


def parse_period(text: str) -> Period:
    """Read a period from the command line or a URL; InvalidActionInput says what is accepted
    (without repeating the text: it came from a URL anyone can write)."""
    period = _parse_period(text)
    first = period.last if period.kind == "asof" else period.first
    if not FIRST_DAY <= first <= period.last <= LAST_DAY:
        raise _bad(text, f"must fall within the working-day calendar's years "
                         f"{FIRST_DAY.year}–{LAST_DAY.year}")
    return period


def _parse_period(text: str) -> Period:
    raw = text.strip()
    value = raw.upper()
    try:
        if ".." in value:
            left, _, right = raw.partition("..")
            if not left.strip():
                return _parse_as_of(right.strip(), raw)
            return day_range(dt.date.fromisoformat(left.strip()), dt.date.fromisoformat(right.strip()))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return day(dt.date.fromisoformat(value))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{1,2}(:\d{2}(:\d{2})?)?", value):
            return _parse_as_of(raw, raw)
        for pattern, kind in _FORMS:
            match = pattern.fullmatch(value)
            if match is None:
                continue
            y, n = int(match.group(1)), int(match.group(2)) if match.lastindex == 2 else 0
            if kind == "week":
                return week(y, n)
            if kind == "quarter":
                return quarter(y, n)
            if kind == "half":
                return half(y, n)
            if kind == "month":
                return month(y, n)
            return year(y)
    except (ValueError, OverflowError) as exc:
        raise _bad(raw, "is not a date or period that exists") from exc
    raise _bad(raw, "use 2023-03-24, 2023-W12, 2023-03, 2023-Q1, 2023-H1, 2023, "
                    "'2023-03-24 18:00' (as of) or 2023-03-01..2023-03-15")


def _parse_as_of(text: str, raw: str) -> Period:
    value = text.replace("T", " ")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{1,2}", value):
        value += ":00"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _bad(raw, "is not a time that exists") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return as_of(moment)


def _bad(text: str, why: str) -> InvalidActionInput:
    del text  # never repeated: the message names the field and what it takes
    return InvalidActionInput(action="report", field="period", message=why, kind="invalid_period")
