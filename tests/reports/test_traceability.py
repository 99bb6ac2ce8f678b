"""Every number traceable: each figure lists exactly the cases it counts, and the 台账 adds up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from duban.reports import build_report, cases_behind
from duban.reports.model import Figure, Report
from tests.reports import scenario


def every_figure(report: Report) -> Iterator[tuple[str, Figure]]:
    yield from report.figures.items()
    yield from report.events.items()
    yield from ((f"supervision:{a}", f) for a, f in report.supervision.items())
    for level, figures in report.by_level.items():
        yield from ((f"{level}:{k}", f) for k, f in figures.items())
    for level, figures in report.dispositions.items():
        yield from ((f"{level}:disposition:{k}", f) for k, f in figures.items())
    yield from ((f"grid:{k}", f) for k, f in report.received_grid.items())
    yield from ((f"channel:{k}", f) for k, f in report.by_channel.items())
    yield from ((f"complained:{name}", f) for name, f in report.complained)
    for unit in report.ranking:
        yield from ((f"{unit.code}:{k}", f) for k, f in unit.figures.items())
    yield from ((f"referrals:{k}", f) for k, f in report.referrals.items())
    yield from ((f"referral_outcome:{k}", f) for k, f in report.referral_outcomes.items())
    for rate in report.rates.values():
        yield f"{rate.key}:numerator", rate.numerator
        yield f"{rate.key}:denominator", rate.denominator


@pytest.fixture
def november(engine: Engine) -> scenario.November:
    return scenario.build(engine)


@pytest.mark.parametrize("period", ["2023-11", "2023-W46", "2023-Q4", "2023-11-30 12:00"])
def test_every_figure_lists_exactly_the_cases_it_counts(november: scenario.November, period: str) -> None:
    report = build_report(november.ctx, period, "GS")
    wrong = {}
    for name, figure in every_figure(report):
        listed = cases_behind(november.ctx, figure.trace)
        if sum(n for _, n in listed) != figure.value:
            wrong[name] = (figure.value, listed)
    assert not wrong


def test_the_ledger_has_one_row_per_case_and_its_columns_sum_to_the_figures(
        november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    assert report.ledger is not None
    rows = list(report.ledger())
    numbers = [row.number for row in rows]
    assert len(numbers) == len(set(numbers))
    assert november.numbers["J"] not in numbers  # December's case has nothing to do with November
    assert november.numbers["G"] in numbers  # received in October, closed in November
    sums: Counter[str] = Counter()
    for row in rows:
        sums.update(row.flags)
    for key, figure in report.figures.items():
        assert sums[key] == figure.value, key
    for key, figure in report.events.items():
        assert sums[key] == figure.value, key
    for action, figure in report.supervision.items():
        assert sums[f"supervision:{action}"] == figure.value, action


def test_a_city_office_reports_its_own_region_only(november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS-LZ")
    # K was received by the city; B, C, E, I, A were handed to units in the city's region.
    assert report.by_level["city"]["received"].value == 1
    assert report.figures["received"].value == 6  # A B C E I K; not F (commission), H (province dept), D
    assert all(number.startswith("GS") for number, _ in cases_behind(
        november.ctx, report.figures["received"].trace))
    assert report.narrative.startswith("2023年11月，市县两级共受理社会监督意见6件")


def test_the_weekly_trend_adds_up_to_the_figures_and_stops_at_the_periods_end(
        november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11-30 12:00", "GS")
    # Everything received up to 30 November noon, week by week; nothing of December (J).
    assert sum(p.received for p in report.trend) == report.figures["received"].value == 10
    assert sum(p.closed for p in report.trend) == report.figures["closed"].value == 5
    assert report.trend[0].week.key == "2023-W43"  # G, received Wednesday 25 October
