"""The working-day calendar against the official schedule, overrides and local holidays."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duban.errors import ConfigError
from duban.workcal import load_calendar_book

BOOK = load_calendar_book()
CAL = BOOK.official

YEAR_2027 = """
year = 2027
source = "test schedule"
workdays = [2027-02-13]
[[holidays]]
name = "元旦"
start = 2027-01-01
end = 2027-01-03
[[holidays]]
name = "春节"
start = 2027-02-05
end = 2027-02-12
"""


def test_fifteen_working_days_after_the_2023_national_day_start() -> None:
    answer = CAL.add_workdays(dt.date(2023, 9, 27), 15)
    assert answer.date == dt.date(2023, 10, 24)
    assert not answer.provisional


def test_a_moved_saturday_is_a_working_day() -> None:
    assert CAL.is_workday(dt.date(2023, 10, 7)).workday
    assert not CAL.is_workday(dt.date(2023, 10, 2)).workday  # a Monday in the holiday
    assert not CAL.is_workday(dt.date(2023, 10, 14)).workday  # an ordinary Saturday


def test_the_start_day_is_never_counted() -> None:
    assert CAL.add_workdays(dt.date(2023, 9, 25), 1).date == dt.date(2023, 9, 26)
    assert CAL.add_workdays(dt.date(2023, 9, 30), 1).date == dt.date(2023, 10, 7)


def test_an_unpublished_year_is_provisional_on_the_weekday_rule() -> None:
    answer = CAL.add_workdays(dt.date(2026, 12, 30), 3)
    assert answer.provisional
    assert answer.date == dt.date(2027, 1, 4)  # 31 Dec, then Fri 1 Jan and Mon 4 Jan by weekdays
    assert CAL.is_workday(dt.date(2027, 1, 1)).provisional


def test_a_schedule_added_in_config_replaces_the_weekday_rule(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2027.toml").write_text(YEAR_2027, encoding="utf-8")
    cal = load_calendar_book(tmp_path).official
    answer = cal.add_workdays(dt.date(2026, 12, 30), 3)
    assert not answer.provisional
    assert answer.date == dt.date(2027, 1, 5)  # 31 Dec, 4 Jan, 5 Jan: the holiday is skipped
    assert cal.is_workday(dt.date(2027, 2, 13)).workday  # a moved Saturday


def test_a_jurisdiction_adds_its_own_holidays_to_its_region_only(tmp_path: Path) -> None:
    (tmp_path / "calendar" / "local").mkdir(parents=True)
    (tmp_path / "calendar" / "local" / "linxia.toml").write_text(
        'name = "临夏回族自治州"\nregions = ["GS-LX"]\n[[holidays]]\nname = "古尔邦节"\n'
        "start = 2023-06-29\nend = 2023-06-30\n", encoding="utf-8")
    book = load_calendar_book(tmp_path)
    assert not book.for_org("GS-LX-KL-ZJJ").is_workday(dt.date(2023, 6, 30)).workday
    assert book.for_org("GS-LZ").is_workday(dt.date(2023, 6, 30)).workday
    assert book.for_org("GS-LXX").is_workday(dt.date(2023, 6, 30)).workday  # a prefix, not a region


def test_the_calendar_with_fewest_working_days_has_none_any_org_lacks(tmp_path: Path) -> None:
    """A list's yellow filter bounds deadlines in SQL by it (duban.services.reading._soon_until)."""
    (tmp_path / "calendar" / "local").mkdir(parents=True)
    for name, region, day in (("linxia", "GS-LX", "2023-06-29"), ("gannan", "GS-GN", "2023-07-03")):
        text = (f'name = "{name}"\nregions = ["{region}"]\n'
                f'[[holidays]]\nname = "节"\nstart = {day}\nend = {day}\n')
        (tmp_path / "calendar" / "local" / f"{name}.toml").write_text(text, encoding="utf-8")
    book = load_calendar_book(tmp_path)
    fewest = book.fewest_workdays
    start = dt.date(2023, 6, 1)
    for org in ("GS", "GS-LX-KL", "GS-GN-HZ"):
        calendar = book.for_org(org)
        for offset in range(60):
            day = start + dt.timedelta(days=offset)
            assert not fewest.is_workday(day).workday or calendar.is_workday(day).workday, (org, day)
    assert not fewest.is_workday(dt.date(2023, 6, 29)).workday  # linxia's
    assert not fewest.is_workday(dt.date(2023, 7, 3)).workday  # gannan's, a Monday


@pytest.mark.parametrize(("text", "key"), [
    ("year = 2027\nworkdays = [2026-01-01]\n", "holidays"),
    ("workdays = []\n", "year"),
    ("year = 2027\n[[holidays]]\nstart = 2027-01-05\nend = 2027-01-01\n", "holidays[0]"),
    ("year = 2027\nworkdays = [2027-01-01]\n[[holidays]]\nstart = 2027-01-01\n", "workdays"),
    ("year = 2027\nholidays = [2027-01-01]\n", "holidays"),  # written as workdays are: no tables
    ("year = 2027\nholidays = \"2027-01-01\"\n", "holidays"),
])
def test_a_bad_schedule_names_its_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2027.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_calendar_book(tmp_path)
    assert err.value.key == key
    assert "2027.toml" in err.value.source


@pytest.mark.parametrize("holidays", ['holidays = ["2023-06-12"]', "holidays = [2023-06-12]",
                                      "[holidays]\nstart = 2023-06-12"])
def test_a_local_file_whose_holidays_are_no_tables_names_its_file_and_key(tmp_path: Path,
                                                                           holidays: str) -> None:
    (tmp_path / "calendar" / "local").mkdir(parents=True)
    (tmp_path / "calendar" / "local" / "linxia.toml").write_text(f'regions = ["GS-LX"]\n{holidays}\n',
                                                                  encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_calendar_book(tmp_path)
    assert (err.value.key, "linxia.toml" in err.value.source) == ("holidays", True)


dates = st.dates(min_value=dt.date(2005, 1, 1), max_value=dt.date(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(day=dates)
def test_agrees_with_chinese_calendar_day_by_day(day: dt.date) -> None:
    assert CAL.is_workday(day).workday == chinese_calendar.is_workday(day)


@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=1, max_value=60))
def test_the_nth_working_day_is_a_working_day_with_n_working_days_before_it(start: dt.date, n: int) -> None:
    end = CAL.add_workdays(start, n).date
    assert CAL.is_workday(end).workday
    assert CAL.workdays_between(start, end) == n
    assert CAL.workdays_between(start, end - dt.timedelta(days=1)) == n - 1
