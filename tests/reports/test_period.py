"""Periods are Beijing-time intervals turned into UTC bounds; every cadence of seed 000 parses."""

from __future__ import annotations

import datetime as dt

import pytest

from duban.clock import parse_local
from duban.errors import InvalidActionInput
from duban.reports.period import current, parse_period

UTC = dt.UTC


def test_a_month_starts_at_beijing_midnight_which_is_sixteen_hours_utc_the_day_before() -> None:
    p = parse_period("2023-03")
    assert (p.kind, p.key) == ("month", "2023-03")
    assert p.start == dt.datetime(2023, 2, 28, 16, 0, tzinfo=UTC)
    assert p.end == dt.datetime(2023, 3, 31, 16, 0, tzinfo=UTC)
    assert (p.first, p.last) == (dt.date(2023, 3, 1), dt.date(2023, 3, 31))


@pytest.mark.parametrize(("text", "kind", "first", "last"), [
    ("2023-03-24", "day", "2023-03-24", "2023-03-24"),
    ("2023-W12", "week", "2023-03-20", "2023-03-26"),
    ("2023-Q1", "quarter", "2023-01-01", "2023-03-31"),
    ("2023-H2", "half", "2023-07-01", "2023-12-31"),
    ("2023", "year", "2023-01-01", "2023-12-31"),
    ("2023-03-01..2023-03-15", "range", "2023-03-01", "2023-03-15"),
])
def test_every_cadence_parses_to_its_first_and_last_day(text: str, kind: str, first: str, last: str) -> None:
    p = parse_period(text)
    assert p.kind == kind
    assert (p.first.isoformat(), p.last.isoformat()) == (first, last)
    assert parse_period(p.key) == p


def test_as_of_is_cumulative_and_includes_the_moment_itself() -> None:
    p = parse_period("2023-03-24 18:00")
    moment = parse_local("2023-03-24 18:00")
    assert p.cumulative and p.kind == "asof"
    assert p.start < parse_local("2023-02-15 09:00")
    assert p.end > moment and p.end - moment == dt.timedelta(microseconds=1)
    assert parse_period("..2023-03-24 18:00") == p == parse_period("2023-03-24T18:00")
    assert p.previous() is None and p.last_year() is None


def test_previous_and_same_period_last_year_follow_the_cadence() -> None:
    assert parse_period("2023-01").previous().key == "2022-12"  # type: ignore[union-attr]
    assert parse_period("2023-03").last_year().key == "2022-03"  # type: ignore[union-attr]
    assert parse_period("2023-Q1").previous().key == "2022-Q4"  # type: ignore[union-attr]
    assert parse_period("2023-H1").previous().key == "2022-H2"  # type: ignore[union-attr]
    assert parse_period("2023-W01").previous().key == "2022-W52"  # type: ignore[union-attr]
    assert parse_period("2020-W53").last_year().key == "2019-W52"  # type: ignore[union-attr]
    assert parse_period("2024-02-29").last_year().key == "2023-02-28"  # type: ignore[union-attr]
    assert parse_period("2023-03-01..2023-03-10").previous().key == "2023-02-19..2023-02-28"  # type: ignore[union-attr]


def test_weeks_for_the_trend_cover_the_period_and_reach_back_eight_weeks() -> None:
    weeks = parse_period("2023-03").weeks()
    assert weeks[-1].key == "2023-W13"
    assert len(weeks) >= 8
    assert all(b.first - a.first == dt.timedelta(days=7) for a, b in zip(weeks, weeks[1:], strict=False))
    as_of = parse_period("2023-03-24 18:00").weeks(first_case=parse_local("2023-02-15 09:00"))
    assert [w.key for w in as_of] == [f"2023-W{n:02d}" for n in range(7, 13)]


def test_the_current_period_contains_today() -> None:
    today = dt.date(2023, 11, 15)
    for kind in ("day", "week", "month", "quarter", "half", "year"):
        p = current(kind, today)  # type: ignore[arg-type]
        assert p.first <= today <= p.last


@pytest.mark.parametrize("text", ["2023-13", "2023-Q5", "March", "2023-W60", "2023-03-10..2023-03-01"])
def test_a_bad_period_says_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidActionInput) as info:
        parse_period(text)
    assert info.value.field == "period"
