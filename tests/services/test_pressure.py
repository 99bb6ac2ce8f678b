"""Planning what the engine owes a case: colours and the day they change, ladder steps, episodes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from duban.config.policy import load_policy
from duban.deadlines import warning_of, workdays_left
from duban.services.pressure import Facts, fire_on, ladder_episode, plan
from duban.workcal import load_calendar_book

CAL = load_calendar_book().official
POLICY = load_policy()
D = dt.date


def brute_colour(*, deadline_on: dt.date, deadline_start: dt.date, today: dt.date) -> str:
    """The rule as the policy states it, evaluated directly (the original formula)."""
    if today > deadline_on:
        return "red"
    left = workdays_left(CAL, today=today, deadline_on=deadline_on)
    if left <= POLICY.warnings.yellow_workdays_left:
        return "yellow"
    total = CAL.workdays_between(deadline_start, deadline_on)
    if total > 0 and left <= total * POLICY.warnings.blue_fraction_left:
        return "blue"
    return "none"


@settings(max_examples=300, deadline=None)
@given(start=st.dates(D(2023, 1, 1), D(2025, 12, 1)), days=st.integers(1, 70),
       offset=st.integers(-5, 120))
def test_stored_colour_and_change_day_agree_with_the_rule_on_every_day(
        start: dt.date, days: int, offset: int) -> None:
    deadline = CAL.add_workdays(start, days).date
    today = start + dt.timedelta(days=offset)
    warning = warning_of(deadline_on=deadline, deadline_start=start, today=today, calendar=CAL,
                         policy=POLICY)
    assert warning.colour == brute_colour(deadline_on=deadline, deadline_start=start, today=today)
    if warning.changes_on is None:
        assert warning.colour == "red"
        return
    # Nothing changes before the day it says, and something changes on it.
    day = today
    while day < warning.changes_on:
        assert brute_colour(deadline_on=deadline, deadline_start=start, today=day) == warning.colour
        day += dt.timedelta(days=1)
    assert brute_colour(deadline_on=deadline, deadline_start=start, today=day) != warning.colour


def test_colours_of_a_fifteen_working_day_limit() -> None:
    start = D(2023, 3, 1)
    deadline = CAL.add_workdays(start, 15).date  # 2023-03-22
    assert deadline == D(2023, 3, 22)

    def colour(day: dt.date) -> str:
        return warning_of(deadline_on=deadline, deadline_start=start, today=day, calendar=CAL,
                          policy=POLICY).colour

    assert colour(D(2023, 3, 15)) == "none"
    assert colour(D(2023, 3, 16)) == "blue"  # 5 working days left of 15: a third
    assert colour(D(2023, 3, 22)) == "yellow"  # the last working day
    assert colour(D(2023, 3, 23)) == "red"


def facts(**changes: object) -> Facts:
    base = dict(id=1, state="transferred", disposition="transfer", deadline_kind="handling",
                deadline_start=D(2023, 3, 1), deadline_on=D(2023, 3, 8), deadline_seq=2,
                progress_due_on=None)
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


def test_the_first_ladder_step_is_due_the_first_working_day_overdue() -> None:
    before = plan(facts(), fired=set(), calendar=CAL, policy=POLICY, today=D(2023, 3, 8))
    assert before.due == [] and before.warning == "yellow"
    assert before.look_again_on == D(2023, 3, 9)
    due = plan(facts(), fired=set(), calendar=CAL, policy=POLICY, today=D(2023, 3, 9))
    assert [d.action for d in due.due] == ["remind"]
    assert due.due[0].episode == ladder_episode(2) == "h2"


def test_steps_already_fired_in_this_episode_are_not_due_again() -> None:
    fired = {("h2", "remind")}
    result = plan(facts(), fired=fired, calendar=CAL, policy=POLICY, today=D(2023, 3, 9))
    assert result.due == []
    assert result.look_again_on == fire_on(CAL, D(2023, 3, 8), 3)  # copy_notice's day
    # A new limit is a new episode: the same step is due again.
    again = plan(facts(deadline_seq=3), fired=fired, calendar=CAL, policy=POLICY, today=D(2023, 3, 9))
    assert [d.action for d in again.due] == ["remind"]


def test_a_service_down_for_weeks_fires_only_the_step_reached_and_records_the_rest_skipped() -> None:
    result = plan(facts(), fired={}, calendar=CAL, policy=POLICY, today=D(2023, 4, 28))
    assert [(d.step, d.action) for d in result.due] == [
        ("remind", None), ("copy_notice", None), ("work_reminder", None), ("interview", None),
        ("public_notice", None), ("step_up", "step_up")]


def test_after_a_catch_up_the_next_step_keeps_the_policys_spacing_from_the_catch_up_day() -> None:
    deadline = D(2023, 3, 8)
    caught_up = fire_on(CAL, deadline, 7)  # between work_reminder (5) and interview (10)
    first = plan(facts(), fired={}, calendar=CAL, policy=POLICY, today=caught_up)
    assert [(d.step, d.action) for d in first.due] == [
        ("remind", None), ("copy_notice", None), ("work_reminder", "work_reminder")]
    fired = {("h2", d.step): caught_up if d.action else None for d in first.due}
    again = plan(facts(), fired=fired, calendar=CAL, policy=POLICY, today=caught_up)
    assert again.due == []
    # 约谈 comes five working days after the 重要工作提示 actually went out, not three.
    interview_on = fire_on(CAL, caught_up, 10 - 5)
    assert interview_on > fire_on(CAL, deadline, 10)
    assert again.look_again_on == interview_on
    assert plan(facts(), fired=fired, calendar=CAL, policy=POLICY,
                today=interview_on - dt.timedelta(days=1)).due == []
    assert [d.action for d in plan(facts(), fired=fired, calendar=CAL, policy=POLICY,
                                   today=interview_on).due] == ["interview"]


def test_swept_every_day_each_step_fires_on_its_own_day_and_none_is_skipped() -> None:
    fired: dict[tuple[str, str], dt.date | None] = {}
    day, seen = D(2023, 3, 8), []
    while day < D(2023, 5, 31):
        for due in plan(facts(), fired=fired, calendar=CAL, policy=POLICY, today=day).due:
            assert due.action is not None, f"{due.step} skipped on {day}"
            fired[("h2", due.step)] = day
            seen.append((due.step, day))
        day += dt.timedelta(days=1)
    assert [s for s, _ in seen] == ["remind", "copy_notice", "work_reminder", "interview",
                                    "public_notice", "step_up"]
    assert len({d for _, d in seen}) == len(seen)  # never two steps on one day
    deadline = D(2023, 3, 8)
    assert dict(seen)["interview"] == fire_on(CAL, deadline, 10)
    # 通报 and 提级 share a day in the policy: the second follows on the next working day.
    assert dict(seen)["step_up"] == fire_on(CAL, dict(seen)["public_notice"], 1)


def test_a_step_added_before_one_already_sent_is_recorded_skipped() -> None:
    fired = {("h2", "work_reminder"): D(2023, 3, 15)}
    result = plan(facts(), fired=fired, calendar=CAL, policy=POLICY, today=D(2023, 3, 16))
    assert [(d.step, d.action) for d in result.due] == [("remind", None), ("copy_notice", None)]


def test_the_disposition_is_not_raised_past_the_top_or_from_a_returned_case() -> None:
    late = D(2023, 4, 28)
    top = plan(facts(state="escalated", disposition="escalate"), fired=set(), calendar=CAL,
               policy=POLICY, today=late)
    assert "step_up" not in [d.action for d in top.due]
    returned = plan(facts(state="returned"), fired=set(), calendar=CAL, policy=POLICY, today=late)
    assert "step_up" not in [d.action for d in returned.due]
    assert "public_notice" in [d.action for d in returned.due]


def test_office_deadlines_colour_but_never_climb_the_ladder() -> None:
    review = plan(facts(state="reported", deadline_kind="review"), fired=set(), calendar=CAL,
                  policy=POLICY, today=D(2023, 4, 28))
    assert review.warning == "red" and review.due == [] and review.look_again_on is None


def test_unknown_fired_steps_make_the_sweep_look_rather_than_guess() -> None:
    result = plan(facts(), fired=None, calendar=CAL, policy=POLICY, today=D(2023, 3, 20))
    assert result.due == []
    assert result.look_again_on is not None and result.look_again_on <= D(2023, 3, 20)


def test_progress_reminders_that_piled_up_go_out_once() -> None:
    key = facts(state="key_supervised", disposition="key_supervise", deadline_on=D(2023, 6, 30),
                progress_due_on=D(2023, 3, 15))
    result = plan(key, fired=set(), calendar=CAL, policy=POLICY, today=D(2023, 3, 31))
    reminders = [d for d in result.due if d.step.startswith("remind_progress")]
    assert [d.action for d in reminders] == [None, "remind_progress"]  # the older one is skipped
    assert {d.episode for d in reminders} == {"p2023-03-15"}
