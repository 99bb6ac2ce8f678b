"""复查 / 复核 / 终结 (信访工作条例 art. 35, 36): windows on the calendar, outcomes, scope, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.clock import local_date, parse_local
from duban.errors import (
    ActionNotAllowed,
    CaseConcluded,
    CaseNotFound,
    InvalidActionInput,
    NotYetReplied,
    PermissionDenied,
    ReviewNotAllowed,
    ReviewPending,
    ReviewWindowPassed,
)
from duban.models import AuditEvent, Notification, ReviewRequest
from duban.reports.build import build_report, cases_behind
from duban.services import Actor, CaseService, ServiceContext
from duban.services.integrity import verify
from duban.services.queries import scope_for
from duban.services.reading import case_detail, list_cases
from duban.services.reviews import request_review, window_end
from duban.services.sweeps import run_deadline_sweep
from tests.factories import REPORTED, advance, org_id, registered, unit_actor, world

UNIT = "GS-LZ-CG-SWJ"  # the county's water bureau handles it; the county office holds it


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-08-21 09:00")


def _staff(ctx: ServiceContext, role: str, code: str) -> Actor:
    return Actor(f"{code}{role}", role, org_id(ctx, code))


def _to(ctx: ServiceContext, when: str) -> None:
    advance(ctx, seconds=(parse_local(when) - ctx.now()).total_seconds())


def _replied(ctx: ServiceContext, *, on: str = "2023-09-01 10:00",
             title: str = "小区停水一周无人处理") -> str:
    """A county case handled by its unit and approved (the reply given) on `on`."""
    number = registered(ctx, office_code="GS-LZ-CG", subject_name="某小区物业", subject_org_code=None,
                        title=title)
    service = CaseService(ctx)
    service.act(number, "transfer", actor=_staff(ctx, "dispatcher", "GS-LZ-CG"), form={"unit": UNIT})
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": "已恢复供水"})
    _to(ctx, on)
    service.act(number, "approve", actor=_staff(ctx, "supervisor", "GS-LZ-CG"), form={"note": "属实，已解决"})
    return number


def _decide(ctx: ServiceContext, number: str, action: str, code: str, opinion: str) -> object:
    return CaseService(ctx).act(number, action, actor=_staff(ctx, "supervisor", code),
                                form={"opinion": opinion, "reply": f"{opinion}：经复查，意见如下"})


def test_the_window_for_reexamination_runs_thirty_calendar_days_from_the_reply_moved_off_a_holiday(
        ctx: ServiceContext) -> None:
    # 2023-09-01 + 30 days = 2023-10-01, National Day: the window ends on the next working day,
    # Saturday 2023-10-07 (调休 working day), not Monday the 9th.
    number = _replied(ctx, on="2023-09-01 10:00")
    case = CaseService(ctx).get(number)
    assert window_end(ctx, case) == dt.date(2023, 10, 7)
    _to(ctx, "2023-10-08 09:00")
    with pytest.raises(ReviewWindowPassed) as refused:
        request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="不满意")
    assert "2023-10-07" in refused.value.reason
    assert CaseService(ctx).get(number).state == "verified"


def test_a_request_on_the_last_day_of_the_window_is_accepted(ctx: ServiceContext) -> None:
    number = _replied(ctx, on="2023-09-01 10:00")
    _to(ctx, "2023-10-07 16:00")
    case = request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="供水仍不稳定")
    assert case.state == "reexamination" and case.review_level == "reexamination"


def test_reexamination_goes_to_the_office_above_with_a_thirty_day_decision_limit(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    advance(ctx, days=3)
    case = request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="供水仍不稳定")
    assert ctx.orgs.by_id(case.review_office_id).code == "GS-LZ"
    assert case.deadline_kind == "reexamination"
    # 09-04 + 30 days = 10-04, in the National Day holiday: moved to Saturday 10-07, a 调休 working day.
    assert case.deadline_on == dt.date(2023, 10, 7)
    with Session(ctx.engine) as session:
        row = session.exec(select(ReviewRequest)).one()
    assert (row.level, row.due_on, row.requested_role) == ("reexamination", dt.date(2023, 10, 7), "clerk")


def test_only_the_office_above_decides_and_rehandling_returns_the_case_to_its_unit(
        ctx: ServiceContext) -> None:
    number = _replied(ctx)
    request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="供水仍不稳定")
    county = _staff(ctx, "supervisor", "GS-LZ-CG")
    service = CaseService(ctx)
    assert "decide_reexamination" not in service.allowed_actions(service.get(number), county)
    with pytest.raises(PermissionDenied):
        _decide(ctx, number, "decide_reexamination", "GS-LZ-CG", "uphold")
    assert "decide_reexamination" in CaseService(ctx).allowed_actions(
        CaseService(ctx).get(number), _staff(ctx, "supervisor", "GS-LZ"))
    case = _decide(ctx, number, "decide_reexamination", "GS-LZ", "rehandle")
    assert case.state == "returned" and case.deadline_kind == "handling"  # type: ignore[attr-defined]
    assert ctx.orgs.by_id(case.unit_id).code == UNIT  # type: ignore[attr-defined]
    assert case.return_count == 1 and case.concluded_at is None  # type: ignore[attr-defined]


def test_the_unit_does_not_see_a_case_under_review_until_rehandling_is_ordered(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    unit = unit_actor(ctx, UNIT)
    request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="供水仍不稳定")
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=unit)
    with Session(ctx.engine) as session:
        flt = scope_for(session, unit)
    assert number not in [r.number for r in list_cases(ctx, flt, actor=unit)]
    _decide(ctx, number, "decide_reexamination", "GS-LZ", "rehandle")
    assert case_detail(ctx, number, actor=unit)["case"]["state"] == "returned"


def test_uphold_closes_the_case_again_and_the_recheck_window_runs_from_the_opinion(
        ctx: ServiceContext) -> None:
    number = _replied(ctx, on="2023-09-01 10:00")
    request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="不满意")
    _to(ctx, "2023-09-20 10:00")
    case = _decide(ctx, number, "decide_reexamination", "GS-LZ", "uphold")
    assert case.state == "closed" and case.closed_at is not None  # type: ignore[attr-defined]
    assert local_date(case.replied_at) == dt.date(2023, 9, 20)  # type: ignore[attr-defined]
    assert window_end(ctx, case) == dt.date(2023, 10, 20)


def test_recheck_goes_to_the_office_above_the_reexamining_one_and_then_the_case_is_concluded(
        ctx: ServiceContext) -> None:
    number = _replied(ctx)
    clerk = _staff(ctx, "clerk", "GS-LZ-CG")
    request_review(ctx, number, actor=clerk, reason="不满意")
    _decide(ctx, number, "decide_reexamination", "GS-LZ", "uphold")
    case = request_review(ctx, number, actor=clerk, reason="对复查意见仍不服")
    assert case.state == "recheck" and ctx.orgs.by_id(case.review_office_id).code == "GS"
    with pytest.raises(PermissionDenied):  # the city reexamined it; it does not recheck it too
        _decide(ctx, number, "decide_recheck", "GS-LZ", "uphold")
    case = _decide(ctx, number, "decide_recheck", "GS", "uphold")  # type: ignore[assignment]
    assert case.state == "closed" and case.concluded_at is not None
    with pytest.raises(CaseConcluded) as refused:
        request_review(ctx, number, actor=clerk, reason="再次请求")
    assert refused.value.code == "case_concluded" and "终结" in str(refused.value)
    with pytest.raises(CaseConcluded):  # by the action's own door too
        CaseService(ctx).act(number, "request_recheck", actor=clerk, form={"reason": "再次请求"})
    assert verify(ctx).findings == []


def test_a_recheck_ordering_rehandling_still_concludes_the_matter(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    clerk = _staff(ctx, "clerk", "GS-LZ-CG")
    request_review(ctx, number, actor=clerk, reason="不满意")
    _decide(ctx, number, "decide_reexamination", "GS-LZ", "uphold")
    request_review(ctx, number, actor=clerk, reason="仍不服")
    case = _decide(ctx, number, "decide_recheck", "GS", "amend")
    assert case.state == "returned" and case.concluded_at is not None  # type: ignore[attr-defined]
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                form={**REPORTED, "text": "补充办理完毕"})
    service.act(number, "approve", actor=_staff(ctx, "supervisor", "GS-LZ-CG"), form={})
    with pytest.raises(CaseConcluded):
        request_review(ctx, number, actor=clerk, reason="又不服")


def test_after_rehandling_the_new_reply_opens_the_window_for_recheck_not_a_second_reexamination(
        ctx: ServiceContext) -> None:
    number = _replied(ctx, on="2023-09-01 10:00")
    clerk = _staff(ctx, "clerk", "GS-LZ-CG")
    request_review(ctx, number, actor=clerk, reason="不满意")
    _decide(ctx, number, "decide_reexamination", "GS-LZ", "rehandle")
    service = CaseService(ctx)
    with pytest.raises(NotYetReplied):  # re-handling under way: no reply to review yet
        request_review(ctx, number, actor=clerk, reason="等不及")
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                form={**REPORTED, "text": "重新办理完毕"})
    _to(ctx, "2023-11-01 10:00")
    service.act(number, "approve", actor=_staff(ctx, "supervisor", "GS-LZ-CG"), form={})
    with pytest.raises(ActionNotAllowed):
        service.act(number, "request_reexamination", actor=clerk, form={"reason": "再复查"})
    _to(ctx, "2023-11-25 10:00")  # past 30 days from the first reply, within 30 of the new one
    case = request_review(ctx, number, actor=clerk, reason="对重新办理结果不服")
    assert case.state == "recheck"


def test_a_request_before_any_reply_or_during_a_review_is_refused_by_name(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ-CG", subject_name="某小区物业", subject_org_code=None)
    clerk = _staff(ctx, "clerk", "GS-LZ-CG")
    with pytest.raises(NotYetReplied) as refused:
        request_review(ctx, number, actor=clerk, reason="不满意")
    assert isinstance(refused.value, ReviewNotAllowed) and "尚未答复" in str(refused.value)
    replied = _replied(ctx)
    request_review(ctx, replied, actor=clerk, reason="不满意")
    with pytest.raises(ReviewPending):
        request_review(ctx, replied, actor=clerk, reason="催一下")


def test_a_decision_names_an_outcome_from_the_policy(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="不满意")
    with pytest.raises(InvalidActionInput) as refused:
        _decide(ctx, number, "decide_reexamination", "GS-LZ", "dismiss")
    assert refused.value.field == "opinion"
    assert CaseService(ctx).get(number).state == "reexamination"


def test_staff_out_of_scope_and_units_cannot_request_a_review(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    with pytest.raises(CaseNotFound):
        request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LX"), reason="不满意")
    with pytest.raises(PermissionDenied):
        request_review(ctx, number, actor=unit_actor(ctx, UNIT), reason="不满意")


def test_a_citizen_asks_for_review_of_its_own_case_and_acts_through_no_other_door(
        ctx: ServiceContext) -> None:
    number = _replied(ctx)
    citizen = Actor("反映人（网上）", "citizen")
    with pytest.raises(CaseNotFound):
        CaseService(ctx).act(number, "request_reexamination", actor=citizen, form={"reason": "不满意"})
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=citizen)
    case = request_review(ctx, number, actor=citizen, reason="我的电话19900123456，问题没解决")
    assert case.state == "reexamination"
    with Session(ctx.engine) as session:
        row = session.exec(select(ReviewRequest)).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "request_reexamination")).one()
    assert row.requested_role == "citizen" and "19900123456" not in row.reason_redacted
    assert event.actor_role == "citizen"


def test_a_late_opinion_is_shown_red_and_reminded_to_the_reviewing_office(ctx: ServiceContext) -> None:
    number = _replied(ctx, on="2023-09-01 10:00")
    request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="不满意")
    _to(ctx, "2023-10-09 09:00")  # due 10-07 (10-01 moved off the holiday); 10-08 was a working day
    run_deadline_sweep(ctx)
    case = CaseService(ctx).get(number)
    assert case.warning == "red"
    with Session(ctx.engine) as session:
        mail = session.exec(select(Notification).where(Notification.kind == "remind_review")).all()
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "remind_review")).all()
    assert [m.to_address for m in mail] == ["gs-lz@duban.example"]
    assert len(events) == 1
    _decide(ctx, number, "decide_reexamination", "GS-LZ", "uphold")
    with Session(ctx.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "decide_reexamination")).one()
    assert event.data["late"] is True


def test_a_new_complaint_about_a_concluded_matter_is_registered_and_flagged(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    clerk = _staff(ctx, "clerk", "GS-LZ-CG")
    request_review(ctx, number, actor=clerk, reason="不满意")
    _decide(ctx, number, "decide_reexamination", "GS-LZ", "uphold")
    request_review(ctx, number, actor=clerk, reason="仍不服")
    _decide(ctx, number, "decide_recheck", "GS", "uphold")
    again = registered(ctx, office_code="GS-LZ-CG", subject_name="某小区物业", subject_org_code=None,
                       title="小区停水一周无人处理")
    assert again != number
    with Session(ctx.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "register")
                             .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and event.data["concluded_matter"] == number
    assert number in event.reason and "终结" in event.reason


def test_reports_count_review_requests_and_outcomes_in_the_period(ctx: ServiceContext) -> None:
    first, second = _replied(ctx), _replied(ctx, on="2023-09-02 10:00", title="小区供暖不达标")
    clerk = _staff(ctx, "clerk", "GS-LZ-CG")
    for number in (first, second):
        request_review(ctx, number, actor=clerk, reason="不满意")
    _decide(ctx, first, "decide_reexamination", "GS-LZ", "uphold")
    _decide(ctx, second, "decide_reexamination", "GS-LZ", "rehandle")
    request_review(ctx, first, actor=clerk, reason="仍不服")
    report = build_report(ctx, "2023-09", "GS")
    values = {k: f.value for k, f in report.reviews.items()}
    assert values["reexamination_requested"] == 2 and values["reexamination_decided"] == 2
    assert values["reexamination:uphold"] == 1 and values["reexamination:rehandle"] == 1
    assert values["recheck_requested"] == 1 and values["recheck_decided"] == 0
    assert build_report(ctx, "2023-08", "GS").reviews["reexamination_requested"].value == 0
    # Each figure names the cases behind it (a case's 复核 outcome never counts as its 复查's).
    assert cases_behind(ctx, report.reviews["reexamination:uphold"].trace) == [(first, 1)]
    assert cases_behind(ctx, report.reviews["reexamination:rehandle"].trace) == [(second, 1)]


def test_the_complainant_is_told_the_review_opinion_without_identity(ctx: ServiceContext) -> None:
    number = _replied(ctx)
    _to(ctx, "2023-09-10 10:00")
    request_review(ctx, number, actor=_staff(ctx, "clerk", "GS-LZ-CG"), reason="不满意")
    CaseService(ctx).act(number, "decide_reexamination", actor=_staff(ctx, "supervisor", "GS-LZ"),
                         form={"opinion": "uphold", "reply": "经复查，处理意见得当，予以维持。"})
    with Session(ctx.engine) as session:
        told = session.exec(select(Notification).where(Notification.kind == "review_opinion")).all()
    by_channel = {n.channel: n for n in told}
    assert len(told) == len(by_channel) and "sms" in by_channel  # once per channel
    assert "予以维持" in by_channel["sms"].params
    if "email" in by_channel:
        assert "予以维持" in by_channel["email"].body
