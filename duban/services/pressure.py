"""What the engine owes a case and when: its warning colour, ladder steps, progress reminders.

One pure function, `plan`, answers for a case on a day: the colour it shows, the engine actions
due now, and the next day anything can become due (`sweep_due_on`, indexed, is what a sweep
selects by, so a million open cases with nothing due cost one index probe). Everything time-driven
on a case is derived here, so the service layer (after every action) and the sweep agree.

Episodes: a ladder step fires once per case per running limit ("h<deadline_seq>"; a new limit
starts a new episode, an extension does not), a progress reminder once per progress period
("p<due date>"). What fired is recorded as `PressureStep` rows, UNIQUE per (case, episode, step).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from duban.config.policy import Policy
from duban.deadlines import due_date, warning_of
from duban.states.definition import HANDLING_STATES, CaseState
from duban.states.machine import triggers
from duban.workcal import WorkCalendar

_HANDLING = {s.value for s in HANDLING_STATES}
_KEY = CaseState.KEY_SUPERVISED.value
Fired = set[tuple[str, str]]  # (episode, step)


@dataclass(frozen=True)
class Facts:
    """The columns of a case that planning reads (a row or a Core result, alike)."""

    id: int
    state: str
    disposition: str | None
    deadline_kind: str | None
    deadline_start: dt.date | None
    deadline_on: dt.date | None
    deadline_seq: int
    progress_due_on: dt.date | None
    notice_due_on: dt.date | None = None  # a referral's next notice to the reporter

    @classmethod
    def of(cls, case: Any) -> Facts:
        return cls(case.id, case.state, case.disposition, case.deadline_kind, case.deadline_start,
                   case.deadline_on, case.deadline_seq or 0, case.progress_due_on,
                   getattr(case, "notice_due_on", None))


@dataclass(frozen=True)
class Due:
    """An engine step due now. `action` None: record the step as skipped, fire nothing."""

    action: str | None
    episode: str
    step: str


@dataclass
class Plan:
    warning: str
    due: list[Due] = field(default_factory=list)
    look_again_on: dt.date | None = None


def ladder_episode(deadline_seq: int) -> str:
    return f"h{deadline_seq}"


def progress_episode(due_on: dt.date) -> str:
    return f"p{due_on.isoformat()}"


def notice_episode(due_on: dt.date) -> str:
    return f"n{due_on.isoformat()}"


def fire_on(calendar: WorkCalendar, day: dt.date, after_workdays: int) -> dt.date:
    """The day a step `after_workdays` working days after `day` falls due (0: that day)."""
    return day if after_workdays == 0 else calendar.add_workdays(day, after_workdays).date


def plan(facts: Facts, *, fired: Fired | None, calendar: WorkCalendar, policy: Policy,
         today: dt.date) -> Plan:
    """Colour, steps due today and the next day to look again.

    `fired` None means "not read": nothing is reported due, and steps whose day has come count as
    due today in `look_again_on`, so the next sweep looks (with what fired) and decides. The rule
    that keeps sweeps correct: `look_again_on` is never later than the next real event; earlier
    only costs a visit.
    """
    warning = warning_of(deadline_on=facts.deadline_on, deadline_start=facts.deadline_start,
                         today=today, calendar=calendar, policy=policy)
    result = Plan(warning.colour)
    days = [warning.changes_on] if warning.changes_on else []
    for episode, base, steps in _sequences(facts, policy):
        for step, action, after in steps:  # in firing order: days never decrease along it
            if fired is not None and (episode, step) in fired:
                continue
            on = fire_on(calendar, base, after)
            if fired is not None and on <= today:
                result.due.append(Due(action, episode, step))
                continue
            days.append(on)  # the next one of this sequence; the rest come later still
            break
    result.due = _latest_reminder_only(result.due)
    result.look_again_on = min(days) if days else None
    return result


Sequence = tuple[str, dt.date, list[tuple[str, str, int]]]  # episode, day counted from, steps


def _sequences(facts: Facts, policy: Policy) -> list[Sequence]:
    """The engine's step sequences that apply to the case as it is: (step, action, offset)."""
    found: list[Sequence] = []
    if (facts.deadline_on is not None and facts.state in _HANDLING
            and facts.deadline_kind in policy.ladder.deadline_kinds):
        allowed = _triggers(facts.state)
        found.append((ladder_episode(facts.deadline_seq), facts.deadline_on, [
            (step.action, step.action, step.after_workdays) for step in policy.ladder.steps
            # e.g. no step_up from a returned case: it is not defined there, so not applied
            if step.action in allowed
            and (step.dispositions is None or facts.disposition in step.dispositions)]))
    if facts.state == _KEY and facts.progress_due_on is not None:
        found.append((progress_episode(facts.progress_due_on), facts.progress_due_on, [
            (f"remind_progress+{after}", "remind_progress", after)
            for after in sorted(policy.progress_reports.remind_after_workdays)]))
    # A referral's notice to the reporter (受理告知, 结果反馈) that is late: the commission is
    # reminded, once per offset; never the handling ladder (docs/engine.md).
    if facts.notice_due_on is not None and "remind_notice" in _triggers(facts.state):
        found.append((notice_episode(facts.notice_due_on), facts.notice_due_on, [
            (f"remind_notice+{after}", "remind_notice", after)
            for after in sorted(policy.referral.remind_after_workdays)]))
    return found


@cache
def _triggers(state: str) -> frozenset[str]:
    return frozenset(triggers(state))  # the machine is built once: its triggers never change


def _latest_reminder_only(due: list[Due]) -> list[Due]:
    """Reminders that piled up (the engine was down) go out once, not once per offset."""
    for action in ("remind_progress", "remind_notice"):
        due = _latest_only(due, action)
    return due


def _latest_only(due: list[Due], action: str) -> list[Due]:
    reminders = [d for d in due if d.action == action]
    if len(reminders) < 2:
        return due
    stale = {id(d) for d in reminders[:-1]}
    return [Due(None, d.episode, d.step) if id(d) in stale else d for d in due]


def refresh(case: Any, *, action: str | None, calendar: WorkCalendar, policy: Policy,
            today: dt.date) -> None:
    """Keep a case's engine columns true after an action (called by the service layer).

    A key-supervised case owes its first progress report a period after it became key-supervised
    and the next a period after each report (半月内专报); out of that state it owes none.
    """
    if case.state == _KEY:
        if case.progress_due_on is None or action == "report_progress":
            limit = policy.deadlines.progress
            case.progress_due_on = due_date(calendar, start=today, days=limit.days,
                                            unit=limit.unit).date
    else:
        case.progress_due_on = None
    result = plan(Facts.of(case), fired=None, calendar=calendar, policy=policy, today=today)
    case.warning = result.warning
    case.sweep_due_on = result.look_again_on
