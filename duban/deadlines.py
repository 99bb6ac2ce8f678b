"""Time limits and warning colours, computed from the working-day calendar and the policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from duban.config.policy import Limit, Policy
from duban.workcal import DayAnswer, WorkCalendar


def due_date(calendar: WorkCalendar, *, start: dt.date, days: int, unit: str, extension_days: int = 0
             ) -> DayAnswer:
    """The last day of a limit that starts counting the day after `start`.

    An approved extension adds calendar days (信访工作条例 art. 34) after the limit, and the result
    is moved to the next working day: a deadline never falls on a day off.
    """
    if unit == "workdays":
        base = calendar.add_workdays(start, days)
    elif unit == "days":
        base = calendar.add_days(start, days)
    else:
        raise ValueError(f"unknown deadline unit {unit!r}: use 'workdays' or 'days'")
    if extension_days:
        extended = calendar.add_days(base.date, extension_days)
        return DayAnswer(extended.date, base.provisional or extended.provisional)
    return base


def apply_limit(case: Any, calendar: WorkCalendar, *, kind: str, limit: Limit, start: dt.date) -> None:
    """Start a fresh time limit on the case (clears any extension of the previous one)."""
    case.deadline_kind = kind
    case.deadline_start = start
    case.deadline_days = limit.days
    case.deadline_unit = limit.unit
    case.extension_days = 0
    answer = due_date(calendar, start=start, days=limit.days, unit=limit.unit)
    case.deadline_on = answer.date
    case.deadline_provisional = answer.provisional


def clear_limit(case: Any) -> None:
    case.deadline_kind = None
    case.deadline_start = None
    case.deadline_days = None
    case.deadline_unit = None
    case.extension_days = 0
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
    if deadline_on is None:
        return "none"
    if today > deadline_on:
        return "red"
    left = workdays_left(calendar, today=today, deadline_on=deadline_on)
    if left <= policy.warnings.yellow_workdays_left:
        return "yellow"
    total = calendar.workdays_between(deadline_start, deadline_on) if deadline_start else 0
    if total > 0 and left <= total * policy.warnings.blue_fraction_left:
        return "blue"
    return "none"
