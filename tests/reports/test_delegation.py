"""二次交办 in the reports: the limit is kept or missed by the report the office gets, when it gets it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from duban.reports import build_report
from duban.services import CaseService
from tests.factories import REPORTED, SUPERVISOR, advance, transferred, unit_actor, world


# Due 2023-10-10: 5 working days from 09-27 across the National Day holiday.
@pytest.mark.parametrize(("days_held", "on_time"), [(0, 1.0), (20, 0.0)])
def test_a_report_the_government_forwards_after_the_limit_is_late_though_its_department_was_on_time(
        engine: Engine, days_held: int, on_time: float) -> None:
    ctx = world(engine)
    service, gov = CaseService(ctx), unit_actor(ctx, "GS-LZ-CG-GOV")
    number = transferred(ctx, "GS-LZ-CG-GOV", subject_name="某建设集团", subject_org_code=None,
                         subject_kind="enterprise")  # 5 working days (涉企)
    service.act(number, "delegate", actor=gov, form={"department": "GS-LZ-CG-SWJ"})
    advance(ctx, days=1)
    service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-SWJ"),
                form={**REPORTED, "text": "已办理"})
    advance(ctx, days=days_held)
    service.act(number, "forward_report", actor=gov)
    service.act(number, "approve", actor=SUPERVISOR)
    service.act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    report = build_report(ctx, f"{ctx.today():%Y-%m}", "GS")  # the month it closed
    assert report.rates["on_time"].value == on_time
