"""Time limits and warning colours, computed from the working-day calendar and the policy."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from duban.config.policy import Limit, Policy
from duban.workcal import DayAnswer, WorkCalendar


def add_amount(calendar: WorkCalendar, start: dt.date, days: int, unit: str) -> DayAnswer:
    """`days` in `unit` after `start` (not counted): working days, or calendar days moved to the
    next working day when they end on a day off."""
    if unit == "workdays":
        return calendar.add_workdays(start, days)
    if unit == "days":
        return calendar.add_days(start, days)
    raise ValueError(f"unknown deadline unit {unit!r}: use 'workdays' or 'days'")


def due_date(calendar: WorkCalendar, *, start: dt.date, days: int, unit: str, extension_days: int = 0,
             extension_unit: str | None = None) -> DayAnswer:
    """The last day of a limit that starts counting the day after `start`.

    An approved extension (信访工作条例 art. 34) adds its amount after the limit, in the unit it was
    granted in (policy [extension] unit; None: calendar days, as extensions were before units):
    a deadline never falls on a day off.
    """
    base = add_amount(calendar, start, days, unit)
    if extension_days:
        extended = add_amount(calendar, base.date, extension_days, extension_unit or "days")
        return DayAnswer(extended.date, base.provisional or extended.provisional)
    return base


def apply_limit(case: Any, calendar: WorkCalendar, *, kind: str, limit: Limit, start: dt.date) -> None:
    """Start a fresh time limit on the case (clears any extension of the previous one).

    Each limit is a new episode of the escalation ladder (deadline_seq): the steps fired against
    the previous limit do not count against this one.
    """
    case.deadline_seq = (case.deadline_seq or 0) + 1
    case.deadline_kind = kind
    case.deadline_start = start
    case.deadline_days = limit.days
    case.deadline_unit = limit.unit
    case.extension_days = 0
    case.extension_unit = None
    answer = due_date(calendar, start=start, days=limit.days, unit=limit.unit)
    case.deadline_on = answer.date
    case.deadline_provisional = answer.provisional


def counted_deadline(deadline_on: dt.date | None, missed_deadline_on: dt.date | None) -> dt.date | None:
    """The deadline a case answers for in colours and overdue counts: the one its unit missed on
    this handling run when a raise has started a new limit since (cases.missed_deadline_on), so
    pressure never makes a late case look on time; else the running one."""
    if missed_deadline_on is not None and (deadline_on is None or missed_deadline_on < deadline_on):
        return missed_deadline_on
    return deadline_on


def clear_limit(case: Any) -> None:
    case.deadline_kind = None
    case.deadline_start = None
    case.deadline_days = None
    case.deadline_unit = None
    case.extension_days = 0
    case.extension_unit = None
    case.deadline_on = None
    case.deadline_provisional = False


def recompute(case: Any, calendar: WorkCalendar) -> DayAnswer | None:
    if case.deadline_start is None or case.deadline_days is None or case.deadline_unit is None:
        return None
    return due_date(
        calendar,
        start=case.deadline_start,
        days=case.deadline_days,
        unit=case.deadline_unit,
        extension_days=case.extension_days,
        extension_unit=case.extension_unit,
    )


def workdays_left(calendar: WorkCalendar, *, today: dt.date, deadline_on: dt.date) -> int:
    """Working days from today to the deadline, both counted: 1 on the deadline day itself."""
    return calendar.workdays_between(today - dt.timedelta(days=1), deadline_on)


def warning_colour(
    *,
    deadline_on: dt.date | None,
    deadline_start: dt.date | None,
    today: dt.date,
    calendar: WorkCalendar,
    policy: Policy,
) -> str:
    """none / blue / yellow / red for a running limit; red once the deadline day has passed."""
    return warning_of(deadline_on=deadline_on, deadline_start=deadline_start, today=today,
                      calendar=calendar, policy=policy).colour


def last_yellow_deadline(today: dt.date, calendar: WorkCalendar, policy: Policy) -> dt.date:
    """The last deadline that is yellow (or later) today on `calendar` (`warning_of`: yellow while
    at most `yellow_workdays_left` working days are left, today counted): the day before the next
    working day after those. On the calendar with the fewest working days it bounds every org's."""
    left = policy.warnings.yellow_workdays_left
    return calendar.add_workdays(today - dt.timedelta(days=1), left + 1).date - dt.timedelta(days=1)


# The colours `warning_of` gives (their Chinese names: config/labels.toml [warnings]). What a list
# can know of each before the calendar: red is exactly "late"; yellow and blue need a deadline not
# passed, blue a limit with a start; none is also every case without a running limit.
NO_COLOUR, SHARE_COLOUR, SOON_COLOUR, LATE_COLOUR = "none", "blue", "yellow", "red"


@dataclass(frozen=True)
class Warning:
    colour: str
    changes_on: dt.date | None  # the next day the colour changes by itself; None: it cannot


def warning_of(
    *,
    deadline_on: dt.date | None,
    deadline_start: dt.date | None,
    today: dt.date,
    calendar: WorkCalendar,
    policy: Policy,
) -> Warning:
    """The colour today and the day it next changes, so a sweep can store both and sleep till then.

    Yellow while at most `yellow_workdays_left` working days are left (today counted), blue while
    at most `blue_fraction_left` of the limit's working days are left, red once the deadline day
    has passed. The first day of each colour is found with one bisect, not a walk over days.
    """
    if deadline_on is None:
        return Warning(NO_COLOUR, None)
    red_on = deadline_on + dt.timedelta(days=1)
    if today >= red_on:
        return Warning(LATE_COLOUR, None)
    one = dt.timedelta(days=1)
    yellow_on = calendar.workday_before(deadline_on, policy.warnings.yellow_workdays_left) + one
    starts = [(yellow_on, SOON_COLOUR), (red_on, LATE_COLOUR)]
    total = calendar.workdays_between(deadline_start, deadline_on) if deadline_start else 0
    # left <= total * fraction  <=>  left <= floor(total * fraction), left being a whole number.
    blue_left = math.floor(total * policy.warnings.blue_fraction_left + 1e-9)
    if total > 0 and blue_left > policy.warnings.yellow_workdays_left:
        starts.insert(0, (calendar.workday_before(deadline_on, blue_left) + one, SHARE_COLOUR))
    colour, changes_on = NO_COLOUR, None
    for day, name in starts:
        if today >= day:
            colour = name
        elif changes_on is None:
            changes_on = day
    return Warning(colour, changes_on)
