"""Referrals in the leaders' report: counted apart with their outcomes, the commission never ranked."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from duban.reports import build_report
from duban.services import CaseService
from tests.factories import DISPATCHER, advance, registered, transferred, unit_actor, world


@pytest.fixture
def report_of_a_referring_month(engine: Engine):  # type: ignore[no-untyped-def]
    ctx = world(engine, start="2023-11-01 09:00")
    service = CaseService(ctx)
    anonymous = registered(ctx, complainant_real_name=False, subject_name="某干部", subject_kind="person",
                           subject_org_code=None)
    service.act(anonymous, "refer", actor=DISPATCHER)
    beside = transferred(ctx)
    service.act(beside, "refer", actor=DISPATCHER, form={"handling_continues": True})
    open_one = registered(ctx, title="另一件涉嫌违纪的反映")
    service.act(open_one, "refer", actor=DISPATCHER)
    advance(ctx, days=3)
    for number, commission, outcome in ((anonymous, "GS-JW", "dismissed"),
                                        (beside, "GS-LZ-JW", "case_opened")):
        who = unit_actor(ctx, commission)
        service.act(number, "acknowledge_referral", actor=who)
        service.act(number, "record_result", actor=who, form={"outcome": outcome, "text": "已处置"})
    # The commission's cases: more than enough to be ranked if it were a handling unit.
    return build_report(ctx, "2023-11", now=ctx.now())


def test_referrals_are_counted_apart_with_their_outcomes(report_of_a_referring_month) -> None:  # type: ignore[no-untyped-def]
    report = report_of_a_referring_month
    values = {k: f.value for k, f in report.referrals.items()}
    assert values == {"referred": 3, "continuing": 1, "concluded": 2}
    outcomes = {k: f.value for k, f in report.referral_outcomes.items() if f.value}
    assert outcomes == {"dismissed": 1, "case_opened": 1}
    assert set(report.as_dict()["referral_outcomes"]) == set(report.referral_outcomes)


def test_a_commission_is_never_among_the_ranked_units(report_of_a_referring_month) -> None:  # type: ignore[no-untyped-def]
    report = report_of_a_referring_month
    ranked = {line.code for line in report.ranking}
    assert ranked and not ranked & {"GS-JW", "GS-LZ-JW"}
    assert "GS-LZ-CG-GOV" in ranked  # the unit that goes on handling is ranked as before
