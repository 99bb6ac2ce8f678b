"""What the engine owes a case and when: its warning colour, ladder steps, progress reminders.

One pure function, `plan`, answers for a case on a day: the colour it shows, the engine actions
due now, and the next day anything can become due (`sweep_due_on`, indexed, is what a sweep
selects by, so a million open cases with nothing due cost one index probe). Everything time-driven
on a case is derived here, so the service layer (after every action) and the sweep agree.

Episodes: a ladder step fires once per case per running limit ("h<deadline_seq>"; a new limit
starts a new episode, an extension does not), a progress reminder once per progress period
("p<due date>"). What fired is recorded as `PressureStep` rows, UNIQUE per (case, episode, step).
A sweep fires at most one step per case and episode: the one the case has reached (`catch_up`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from duban.config.policy import Policy
from duban.deadlines import counted_deadline, due_date, warning_of
from duban.states.definition import HANDLING_STATES, REVIEW_STATES
from duban.states.machine import triggers
from duban.workcal import WorkCalendar

_HANDLING = {s.value for s in HANDLING_STATES}
_UNDER_REVIEW = {s.value for s in REVIEW_STATES.values()}
# (episode, step) -> the day it went out; None: recorded skipped (sweeps.DeadlineSweep._fired)
Fired = dict[tuple[str, str], dt.date | None]


def owes_progress(state: str, disposition: str | None) -> bool:
    """半月内专报 is owed by a key-supervised case while a unit handles it (returned included)."""
    return disposition == "key_supervise" and state in _HANDLING


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
    missed_deadline_on: dt.date | None = None
    notice_due_on: dt.date | None = None  # a referral's next notice to the reporter
    sign_due_on: dt.date | None = None  # 签收: the day the unit must have signed for the case by

    @classmethod
    def of(cls, case: Any) -> Facts:
        return cls(case.id, case.state, case.disposition, case.deadline_kind, case.deadline_start,
                   case.deadline_on, case.deadline_seq or 0, case.progress_due_on,
                   case.missed_deadline_on, getattr(case, "notice_due_on", None),
                   getattr(case, "sign_due_on", None))


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


def sign_episode(due_on: dt.date) -> str:
    """One 签收 reminder per handover: each handover sets its own due day."""
    return f"s{due_on.isoformat()}"


def review_episode(deadline_seq: int) -> str:
    return f"r{deadline_seq}"


def fire_on(calendar: WorkCalendar, day: dt.date, after_workdays: int) -> dt.date:
    """The day a step `after_workdays` working days after `day` falls due (0: that day)."""
    return day if after_workdays == 0 else calendar.add_workdays(day, after_workdays).date


def plan(facts: Facts, *, fired: Fired | AbstractSet[tuple[str, str]] | None,
         calendar: WorkCalendar, policy: Policy, today: dt.date) -> Plan:
    """Colour, steps due today and the next day to look again.

    `fired` None means "not read": nothing is reported due, and steps whose day has come count as
    due today in `look_again_on`, so the next sweep looks (with what fired) and decides. The rule
    that keeps sweeps correct: `look_again_on` is never later than the next real event; earlier
    only costs a visit. A set (days not known) is read as a mapping whose days are unknown.
    """
    # The colour counts from a deadline missed before a raise (counted_deadline); the ladder
    # from the running limit (its episode).
    warning = warning_of(deadline_on=counted_deadline(facts.deadline_on, facts.missed_deadline_on),
                         deadline_start=facts.deadline_start, today=today, calendar=calendar,
                         policy=policy)
    result = Plan(warning.colour)
    days = [warning.changes_on] if warning.changes_on else []
    for episode, base, steps in _sequences(facts, policy):
        if fired is None:
            if steps:
                days.append(fire_on(calendar, base, steps[0][2]))
            continue
        due, next_on = catch_up(episode, base, steps, fired=fired, calendar=calendar, today=today)
        result.due.extend(due)
        if next_on is not None:
            days.append(next_on)
    result.look_again_on = min(days) if days else None
    return result


Sequence = tuple[str, dt.date, list[tuple[str, str, int]]]  # episode, day counted from, steps


def catch_up(episode: str, base: dt.date, steps: list[tuple[str, str, int]], *,
             fired: Fired | AbstractSet[tuple[str, str]], calendar: WorkCalendar,
             today: dt.date) -> tuple[list[Due], dt.date | None]:
    """One sequence's steps due today (at most one fires) and the day of its next step.

    A step's day is `after_workdays` after `base`, but never before the step recorded before it
    plus the policy's gap between the two (at least one working day). So after a gap (first start
    on old data, downtime, a new policy) only the step the case has reached now fires; the ones
    it passed are recorded as skipped, and the next one follows as far after the catch-up day as
    the policy spaces them: pressure resumes at its own pace instead of bursting. Read day by
    day, nothing changes: each step falls on its own day, one per sweep, and two steps the policy
    puts on one day follow on consecutive working days.
    """
    recorded = [i for i, (step, _, _) in enumerate(steps) if (episode, step) in fired]
    last = max(recorded, default=-1)
    prev_on: dt.date | None = None  # the day the latest step before this one went out
    prev_after = 0
    reached: list[Due] = []
    for i, (step, action, after) in enumerate(steps):  # in firing order
        if (episode, step) in fired:
            day = _day_recorded(fired, (episode, step))
            if day is not None:  # went out (a skipped step applied no pressure: it spaces nothing)
                prev_on, prev_after = day, after
            continue
        if i < last:  # passed over: a later step already went out (e.g. a step added by policy)
            reached.append(Due(None, episode, step))
            continue
        on = fire_on(calendar, base, after)
        if prev_on is not None:
            on = max(on, fire_on(calendar, prev_on, max(after - prev_after, 1)))
        if on > today:
            return _only_the_latest(reached), on
        reached.append(Due(action, episode, step))
        prev_on, prev_after = on, after  # the next one is spaced from this one's day
    return _only_the_latest(reached), None


def _day_recorded(fired: Fired | AbstractSet[tuple[str, str]], key: tuple[str, str]) -> dt.date | None:
    return fired.get(key) if isinstance(fired, Mapping) else None


def _only_the_latest(reached: list[Due]) -> list[Due]:
    """Of the steps a case has reached, the latest fires; the earlier ones are recorded skipped."""
    return [Due(None, d.episode, d.step) for d in reached[:-1]] + reached[-1:]


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
    if owes_progress(facts.state, facts.disposition) and facts.progress_due_on is not None:
        found.append((progress_episode(facts.progress_due_on), facts.progress_due_on, [
            (f"remind_progress+{after}", "remind_progress", after)
            for after in sorted(policy.progress_reports.remind_after_workdays)]))
    # A referral's notice to the reporter (受理告知, 结果反馈) that is late: the commission is
    # reminded, once per offset; never the handling ladder (docs/engine.md).
    if facts.notice_due_on is not None and "remind_notice" in _triggers(facts.state):
        found.append((notice_episode(facts.notice_due_on), facts.notice_due_on, [
            (f"remind_notice+{after}", "remind_notice", after)
            for after in sorted(policy.referral.remind_after_workdays)]))
    # 签收 not done by its day: the unit is reminded on the policy's days after it ([sign_for]).
    if (facts.sign_due_on is not None and facts.state in _HANDLING
            and "remind_sign_for" in _triggers(facts.state)):
        found.append((sign_episode(facts.sign_due_on), facts.sign_due_on, [
            (f"remind_sign_for+{after}", "remind_sign_for", after)
            for after in sorted(policy.sign_for.remind_after_workdays)]))
    # 复查 / 复核: a late opinion is reminded to the reviewing office (never the unit's ladder).
    if (facts.deadline_on is not None and facts.state in _UNDER_REVIEW
            and facts.deadline_kind in _UNDER_REVIEW):
        found.append((review_episode(facts.deadline_seq), facts.deadline_on, [
            (f"remind_review+{after}", "remind_review", after)
            for after in sorted(policy.reviews.remind_after_workdays)]))
    return found


@cache
def _triggers(state: str) -> frozenset[str]:
    return frozenset(triggers(state))  # the machine is built once: its triggers never change


def refresh(case: Any, *, action: str | None, calendar: WorkCalendar, policy: Policy,
            today: dt.date) -> None:
    """Keep a case's engine columns true after an action (called by the service layer).

    A key-supervised case owes its first progress report a period after it became key-supervised
    (or was returned to its unit) and the next a period after each report (半月内专报); while its
    unit is not handling it (reported, verified, closed) or under another disposition, none.
    """
    if owes_progress(case.state, case.disposition):
        if case.progress_due_on is None or action == "report_progress":
            limit = policy.deadlines.progress
            case.progress_due_on = due_date(calendar, start=today, days=limit.days,
                                            unit=limit.unit).date
    else:
        case.progress_due_on = None
    if case.state not in _HANDLING:  # the unit reported (or the case left its hands): handled
        case.missed_deadline_on = None
    result = plan(Facts.of(case), fired=None, calendar=calendar, policy=policy, today=today)
    case.warning = result.warning
    case.sweep_due_on = result.look_again_on
