"""Each rate recomputed from first principles on November's hand-made cases (scenario.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.config.policy import RankingWeights
from duban.models import AuditEvent, Callback, Case
from duban.reports import build_report, parse_period
from duban.reports.period import Period
from duban.reports.rates import percent, score
from tests.reports import scenario

DISPOSITIONS = {"transfer", "supervise", "key_supervise", "escalate", "refer"}
ANSWERS = {"sign_for", "report_progress", "submit_report", "request_return", "object", "request_extension",
           "record_result"}


def _in(when: dt.datetime | None, period: Period) -> bool:
    return when is not None and period.start <= when < period.end


def first_principles(engine: Engine, period: Period, unit_id: int | None = None) -> dict[str, float]:
    """The four rates, read row by row in plain Python, no report code involved."""
    with Session(engine) as session:
        cases = list(session.exec(select(Case)))
        events = list(session.exec(select(AuditEvent)))
        callbacks = list(session.exec(select(Callback)))
    by_case: dict[int, list[AuditEvent]] = {}
    for e in events:
        by_case.setdefault(e.case_id, []).append(e)
    if unit_id is not None:
        cases = [c for c in cases if c.unit_id == unit_id]
    ids = {c.id for c in cases}

    def did(case: Case, actions: Iterable[str]) -> bool:
        return any(e.action in actions and e.at < period.end for e in by_case.get(case.id or 0, []))

    cohort = [c for c in cases if _in(c.received_at, period)]
    dispatched = [c for c in cohort if did(c, DISPOSITIONS)]
    responded = [c for c in dispatched if did(c, ANSWERS)]
    resolved = [c for c in dispatched if c.closed_at is not None and c.closed_at < period.end]
    closed = [c for c in cases if _in(c.closed_at, period)]
    late = {e.case_id for e in events if e.action in ("submit_report", "record_result") and e.data["late"]}
    # 满意率 over the callbacks that reached someone (联系不上 is no callback), by policy's scale.
    calls = [cb for cb in callbacks if _in(cb.called_at, period) and cb.case_id in ids
             and cb.scale != "unreachable"]
    return {
        "response": len(responded) / len(dispatched),
        "resolution": len(resolved) / len(dispatched),
        "satisfaction": sum(cb.scale in ("satisfied", "basically_satisfied") for cb in calls) / len(calls),
        "on_time": sum(c.id not in late for c in closed) / len(closed),
    }


@pytest.fixture
def november(engine: Engine) -> scenario.November:
    return scenario.build(engine)


def test_each_rate_recomputed_from_first_principles_matches_the_report(
        november: scenario.November) -> None:
    period = parse_period("2023-11")
    report = build_report(november.ctx, period, "GS")
    expected = first_principles(november.ctx.engine, period)
    assert {k: r.value for k, r in report.rates.items()} == pytest.approx(expected)
    assert expected == pytest.approx(scenario.EXPECTED_RATES)


def test_novembers_figures_are_the_ones_worked_out_by_hand(november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    assert {k: report.figures[k].value for k in scenario.EXPECTED} == scenario.EXPECTED
    assert {k: f.value for k, f in report.events.items()} == scenario.EXPECTED_EVENTS
    assert {k: f.value for k, f in report.dispositions["all"].items()} == scenario.EXPECTED_DISPOSITIONS
    assert {k: f.value for k, f in report.supervision.items()} == {
        "remind": 1, "copy_notice": 1, "work_reminder": 0, "interview": 0, "public_notice": 0}
    assert report.by_level["city"]["received"].value == 1
    assert report.received_grid[("city", "letter")].value == 1
    assert [(name, f.value) for name, f in report.complained] == [("城关区住建局", 6), ("兰州市交通局", 1)]
    assert [(k.number, k.progress_reports) for k in report.key_cases] == [(november.numbers["H"], 1)]


def test_a_units_rates_are_its_own_cases_only(november: scenario.November) -> None:
    period = parse_period("2023-11")
    report = build_report(november.ctx, period, "GS")
    county = next(u for u in report.ranking if u.code == "GS-LZ-CG-GOV")
    # A, E and K stayed with the county government; I was objected to and went elsewhere.
    assert county.figures["dispatched"].value == 3
    assert county.rates["response"].value == 1.0
    assert county.rates["resolution"].value == pytest.approx(2 / 3)
    assert county.rates["satisfaction"].value == pytest.approx(2 / 3)  # A and G satisfied, E not
    with Session(november.ctx.engine) as session:
        from duban.models import Org

        county_id = session.exec(select(Org.id).where(Org.code == "GS-LZ-CG-GOV")).one()
    expected = first_principles(november.ctx.engine, period, unit_id=county_id)
    assert {k: county.rates[k].value for k in expected} == pytest.approx(expected)


def test_units_are_ranked_by_the_weighted_mean_of_the_rates_they_have(
        november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    scores = [u.score for u in report.ranking if u.score is not None]
    assert scores == sorted(scores, reverse=True)
    assert [u.rank for u in report.ranking if u.rank] == list(range(1, len(scores) + 1))
    weights = RankingWeights(response=1, resolution=1, satisfaction=2)
    assert score({"response": 1.0, "resolution": 0.5, "satisfaction": None}, weights) == 0.75
    assert score({"response": None, "resolution": None, "satisfaction": None}, weights) is None


def test_a_rate_with_nothing_to_divide_is_a_dash_not_zero(november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-12-25", "GS")
    assert report.figures["received"].value == 0
    assert report.rates["response"].value is None
    assert percent(report.rates["response"].value) == "—"


def test_the_month_compares_with_the_month_before_and_the_year_before(
        november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    received = next(c for c in report.comparison if c.key == "received")
    assert (received.current, received.previous, received.last_year) == (9, 1, 0)
    assert received.mom == pytest.approx(8.0)  # 1 → 9: up 800 %
    assert received.yoy is None  # nothing a year before: no base to compare with
    on_time = next(c for c in report.comparison if c.key == "on_time")
    assert on_time.is_rate and on_time.previous is None  # nothing closed in October
    assert report.previous_key == "2023-10" and report.last_year_key == "2022-11"
