"""The official working-day calendar (工作日), with 调休 and jurisdictions' own holidays.

Built once as a sorted list of working days so that "N working days after D" is a bisect, not
a loop of per-date lookups. Convention: "N working days after D" counts from the day after D,
so D itself never counts, whatever it is.

Sources, in order: the years `chinese_calendar` knows; then TOML files of official schedules
(packaged in duban/config/calendar/, then the office's override folder), a file replacing the
whole year it names; then local holidays of a jurisdiction. A year none of them knows is
*provisional*: computed on the Monday–Friday rule and flagged wherever it is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from duban.errors import ConfigError

_BEIJING = dt.timezone(dt.timedelta(hours=8))  # no zoneinfo needed: China has no summer time

FIRST_DAY = dt.date(2004, 1, 1)
LAST_DAY = dt.date(2045, 12, 31)
# The last day a complaint may be received on: its deadlines (months at most) must still fall
# inside the calendar.
LAST_RECEIVABLE = dt.date(LAST_DAY.year - 1, 12, 31)
COVERAGE = f"{FIRST_DAY.year}–{LAST_RECEIVABLE.year}"
COVERAGE_MESSAGE = f"must fall within the working-day calendar's years {COVERAGE}"


def receivable(when: dt.date | dt.datetime) -> bool:
    """Whether a case received at `when` has deadlines the calendar can compute: its date, in UTC
    and in Beijing time alike, within FIRST_DAY..LAST_RECEIVABLE."""
    if isinstance(when, dt.datetime):
        days = [when.date()]
        if when.tzinfo is not None:
            try:
                days += [when.astimezone(dt.UTC).date(), when.astimezone(_BEIJING).date()]
            except OverflowError:  # year 1 or 9999 shifted past the representable range
                return False
    else:
        days = [when]
    return all(FIRST_DAY <= day <= LAST_RECEIVABLE for day in days)


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: days off that would be working days, and moved working days."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    source: str


@dataclass(frozen=True)
class LocalHolidays:
    """Extra days off of a jurisdiction (e.g. 临夏州), applying to org codes with these prefixes."""

    name: str
    region_prefixes: tuple[str, ...]
    holidays: frozenset[dt.date]


@dataclass(frozen=True)
class DayAnswer:
    date: dt.date
    provisional: bool


@dataclass(frozen=True)
class DayStatus:
    date: dt.date
    workday: bool
    provisional: bool


@dataclass
class WorkCalendar:
    """Working days for one jurisdiction. Immutable once built; build a new one on change."""

    schedules: dict[int, YearSchedule]
    extra_holidays: frozenset[dt.date] = frozenset()
    name: str = "official"
    _days: list[dt.date] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        days: list[dt.date] = []
        day = FIRST_DAY
        one = dt.timedelta(days=1)
        while day <= LAST_DAY:
            if self._computed_workday(day):
                days.append(day)
            day += one
        self._days = days

    def _computed_workday(self, day: dt.date) -> bool:
        if day in self.extra_holidays:
            return False
        schedule = self.schedules.get(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            if day in schedule.holidays:
                return False
        return day.weekday() < 5

    def is_provisional(self, day: dt.date) -> bool:
        return day.year not in self.schedules

    def is_workday(self, day: dt.date) -> DayStatus:
        self._check_range(day)
        i = bisect_left(self._days, day)
        found = i < len(self._days) and self._days[i] == day
        return DayStatus(day, found, self.is_provisional(day))

    def add_workdays(self, start: dt.date, n: int) -> DayAnswer:
        """The n-th working day after `start` (start not counted); n >= 1."""
        if n < 1:
            raise ValueError(f"n must be at least 1 working day, got {n}")
        self._check_range(start)
        i = bisect_right(self._days, start) + n - 1
        if i >= len(self._days):
            raise ValueError(f"{n} working days after {start} is past {LAST_DAY}")
        end = self._days[i]
        return DayAnswer(end, self._any_provisional(start, end))

    def workday_before(self, end: dt.date, n: int) -> dt.date:
        """The working day with exactly n working days after it up to `end` (end counted if one).

        n = 0 gives the last working day on or before `end`. Warning colours use it to find the
        day a colour starts without walking the calendar day by day.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        self._check_range(end)
        i = bisect_right(self._days, end) - n - 1
        if i < 0:
            raise ValueError(f"{n} working days before {end} is before {FIRST_DAY}")
        return self._days[i]

    def next_workday_on_or_after(self, day: dt.date) -> DayAnswer:
        self._check_range(day)
        i = bisect_left(self._days, day)
        end = self._days[i]
        return DayAnswer(end, self._any_provisional(day, end))

    def add_days(self, start: dt.date, n: int) -> DayAnswer:
        """n calendar days after start, moved to the next working day when that is a day off."""
        return self.next_workday_on_or_after(start + dt.timedelta(days=n))

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end >= start:
            return bisect_right(self._days, end) - bisect_right(self._days, start)
        return -(bisect_right(self._days, start) - bisect_right(self._days, end))

    def _any_provisional(self, start: dt.date, end: dt.date) -> bool:
        return any(year not in self.schedules for year in range(start.year, end.year + 1))

    @staticmethod
    def _check_range(day: dt.date) -> None:
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError(f"{day} is outside the calendar's range {FIRST_DAY}..{LAST_DAY}")

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for day in self._days:
            digest.update(day.toordinal().to_bytes(4, "big"))
        return digest.hexdigest()[:16]


@dataclass
class CalendarBook:
    """The official calendar plus each jurisdiction's, built lazily and cached."""

    schedules: dict[int, YearSchedule]
    locals: list[LocalHolidays]
    _cache: dict[str, WorkCalendar] = field(default_factory=dict, init=False, repr=False)
    _by_code: dict[str, WorkCalendar] = field(default_factory=dict, init=False, repr=False)

    @property
    def official(self) -> WorkCalendar:
        return self._get("", frozenset())

    def for_org(self, org_code: str | None) -> WorkCalendar:
        if not org_code:
            return self.official
        if org_code not in self._by_code:  # asked for every case of a list: matched once per code
            self._by_code[org_code] = self._matched(org_code)
        return self._by_code[org_code]

    def _matched(self, org_code: str) -> WorkCalendar:
        extra: set[dt.date] = set()
        names: list[str] = []
        for local in self.locals:
            if any(org_code == p or org_code.startswith(p + "-") for p in local.region_prefixes):
                extra |= local.holidays
                names.append(local.name)
        return self._get("+".join(names), frozenset(extra))

    @property
    def fewest_workdays(self) -> WorkCalendar:
        """The official calendar less every jurisdiction's holidays: no org's calendar has a
        working day this one lacks, so a span of N of its working days holds at least N of any
        org's (a bound a list filter can put in SQL before the colours are worked out per case)."""
        extra = frozenset().union(*(local.holidays for local in self.locals))
        return self._get("*", extra)

    def _get(self, key: str, extra: frozenset[dt.date]) -> WorkCalendar:
        if key not in self._cache:
            self._cache[key] = WorkCalendar(self.schedules, extra, name=key or "official")
        return self._cache[key]

    @property
    def known_years(self) -> list[int]:
        return sorted(self.schedules)


def _builtin_schedules() -> dict[int, YearSchedule]:
    from chinese_calendar import constants

    holidays: dict[int, set[dt.date]] = {}
    workdays: dict[int, set[dt.date]] = {}
    for day in constants.holidays:
        holidays.setdefault(day.year, set()).add(day)
    for day in constants.workdays:
        workdays.setdefault(day.year, set()).add(day)
    return {
        year: YearSchedule(
            year,
            frozenset(holidays.get(year, ())),
            frozenset(workdays.get(year, ())),
            "chinese_calendar",
        )
        for year in sorted(set(holidays) | set(workdays))
    }


def _expand(items: object, source: str) -> set[dt.date]:
    """The days of `[[holidays]]` tables (name, start, end): anything else is refused by name, as
    a date list written the way `workdays` is (holidays = [2023-06-12])."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConfigError(source=source, key="holidays",
                          message="must be [[holidays]] tables with start and end (YYYY-MM-DD)")
    days: set[dt.date] = set()
    for i, item in enumerate(items):
        start, end = item.get("start"), item.get("end", item.get("start"))
        if not isinstance(start, dt.date) or not isinstance(end, dt.date) or end < start:
            raise ConfigError(
                source=source, key=f"holidays[{i}]", message="needs dates start <= end (YYYY-MM-DD)"
            )
        day = start
        while day <= end:
            days.add(day)
            day += dt.timedelta(days=1)
    return days


def parse_schedule(data: dict, source: str) -> YearSchedule:
    """Parse one year's TOML schedule: `year`, `[[holidays]] name/start/end`, `workdays = [...]`."""
    try:
        year = int(data["year"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(source=source, key="year", message="missing or not a number") from exc
    days = _expand(data.get("holidays", []), source)
    moved = data.get("workdays", [])
    if not all(isinstance(d, dt.date) for d in moved):
        raise ConfigError(source=source, key="workdays", message="must be a list of dates")
    for day in sorted(days | set(moved)):
        if day.year != year:
            raise ConfigError(source=source, key="holidays", message=f"{day} is not in year {year}")
    clash = days & set(moved)
    if clash:
        raise ConfigError(source=source, key="workdays", message=f"{sorted(clash)} are also holidays")
    return YearSchedule(year, frozenset(days), frozenset(moved), data.get("source", source))


def _parse_local(data: dict, source: str) -> LocalHolidays:
    prefixes = data.get("regions")
    if not prefixes or not all(isinstance(p, str) for p in prefixes):
        raise ConfigError(source=source, key="regions", message="list the org code prefixes it covers")
    days = _expand(data.get("holidays", []), source)
    return LocalHolidays(data.get("name", source), tuple(prefixes), frozenset(days))


def _toml_files(override_dir: Path | None) -> Iterable[tuple[str, dict, bool]]:
    """(source, data, is_local) for packaged then override calendar files."""
    packaged = resources.files("duban.config") / "calendar"
    sources: list[tuple[str, object]] = []
    for sub in ("", "local"):
        folder = packaged / sub if sub else packaged
        if folder.is_dir():
            sources += [(f"duban/config/calendar/{sub + '/' if sub else ''}{f.name}", f)
                        for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".toml")]
    if override_dir is not None:
        for sub in ("calendar", "calendar/local"):
            folder = override_dir / sub
            if folder.is_dir():
                sources += [(str(f), f) for f in sorted(folder.glob("*.toml"))]
    for source, f in sources:
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source=source, key="(file)", message=str(exc)) from exc
        yield source, data, "/local/" in source.replace("\\", "/")


def load_calendar_book(override_dir: Path | None = None) -> CalendarBook:
    schedules = _builtin_schedules()
    locals_: list[LocalHolidays] = []
    for source, data, is_local in _toml_files(override_dir):
        if is_local:
            locals_.append(_parse_local(data, source))
        else:
            schedule = parse_schedule(data, source)
            schedules[schedule.year] = schedule
    return CalendarBook(schedules, locals_)
