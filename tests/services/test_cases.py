"""The service layer: every rule of the engine, on every configured database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from duban.errors import (
    ActionNotAllowed,
    AvoidanceViolation,
    CaseNotFound,
    InvalidActionInput,
    OrgNotFound,
    PermissionDenied,
    StaleCase,
)
from duban.models import AuditEvent, Case, Org, RepeatContact, Review
from duban.services import CaseService, ServiceContext
from duban.services.integrity import verify
from duban.services.queries import CaseFilter
from duban.services.reading import case_detail, list_cases
from tests.factories import (
    DISPATCHER,
    REPORTED,
    SUPERVISOR,
    advance,
    complaint,
    org_id,
    registered,
    transferred,
    unit_actor,
    world,
)


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def audit_count(ctx: ServiceContext, number: str) -> int:
    with Session(ctx.engine) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
        return session.exec(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.case_id == case.id)).one()


def test_registration_gives_a_readable_number_and_a_triage_deadline(ctx: ServiceContext) -> None:
    case = CaseService(ctx).register(complaint(), actor=DISPATCHER).case
    assert case.number == "GS-2023-00001"
    assert case.state == "received"
    # 信访工作条例 art. 22: 15 days, moved off the National Day holiday to the next working day.
    assert case.deadline_on == dt.date(2023, 10, 12)
    assert case.audit_seq == 1


def test_numbers_count_per_office_and_year(ctx: ServiceContext) -> None:
    a = registered(ctx, title="甲")
    b = registered(ctx, title="乙", office_code="GS-LZ")
    c = registered(ctx, title="丙")
    assert (a, b, c) == ("GS-2023-00001", "GS-LZ-2023-00001", "GS-2023-00002")


def test_transfer_sets_unit_disposition_and_a_working_day_deadline(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    case = CaseService(ctx).get(number)
    assert (case.state, case.disposition) == ("transferred", "transfer")
    assert case.unit_id == org_id(ctx, "GS-LZ-CG-GOV")
    # enterprise-related transfer: 5 working days from 2023-09-27, across the 2023 holiday.
    assert case.deadline_on == dt.date(2023, 10, 10)


def test_an_action_not_allowed_names_the_allowed_ones_and_changes_nothing(ctx: ServiceContext) -> None:
    number = registered(ctx)
    before = CaseService(ctx).get(number)
    with pytest.raises(ActionNotAllowed) as err:
        CaseService(ctx).act(number, "approve", actor=SUPERVISOR)
    assert err.value.state == "received"
    assert "approve" not in err.value.allowed
    assert "escalate" in err.value.allowed
    after = CaseService(ctx).get(number)
    assert (after.version, after.state, audit_count(ctx, number)) == (before.version, "received", 1)


def test_a_role_that_may_not_act_is_refused(ctx: ServiceContext) -> None:
    number = registered(ctx)
    with pytest.raises(PermissionDenied) as err:
        CaseService(ctx).act(number, "transfer", actor=SUPERVISOR.__class__("x", "leader"),
                             form={"unit": "GS-LZ-CG-GOV"})
    assert "dispatcher" in err.value.allowed_roles


def test_a_unit_cannot_see_or_touch_another_units_case(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    with pytest.raises(CaseNotFound):
        CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-SWJ"),
                             form={**REPORTED, "text": "x"})


def test_bad_form_input_names_the_field(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"), form={})
    assert err.value.field == "text"
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                             form={**REPORTED, "text": "ok", "hack": 1})
    assert err.value.field == "form" and "hack" not in str(err.value)  # a made-up key is not repeated


def test_an_unknown_unit_is_refused_and_nothing_changes(ctx: ServiceContext) -> None:
    number = registered(ctx)
    with pytest.raises(OrgNotFound):
        CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-NOPE"})
    assert CaseService(ctx).get(number).state == "received"
    assert audit_count(ctx, number) == 1


def test_a_stale_write_is_refused_not_merged(ctx: ServiceContext) -> None:
    number = registered(ctx)
    version = CaseService(ctx).get(number).version
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"},
                         expected_version=version)
    with pytest.raises(StaleCase):
        CaseService(ctx).act(number, "refer", actor=DISPATCHER, expected_version=version)


def test_a_case_is_never_handed_to_the_unit_it_complains_about(ctx: ServiceContext) -> None:
    number = registered(ctx)  # complains about 城关区住建局
    case = CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    assert case.unit_id == org_id(ctx, "GS-LZ")  # the office a level up takes it
    with Session(ctx.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "transfer")).one()
    assert event.data["avoidance"] == {"requested_unit": "GS-LZ-CG-ZJJ", "assigned_unit": "GS-LZ",
                                       "rule": "avoidance"}
    assert event.reason


def test_reassigning_to_the_subject_also_goes_up_a_level(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    case = CaseService(ctx).act(number, "reassign", actor=SUPERVISOR,
                                form={"unit": "GS-LZ-CG-ZJJ", "reason": "改派"})
    assert case.unit_id == org_id(ctx, "GS-LZ")


def test_a_complaint_about_the_top_office_cannot_be_handed_to_it(ctx: ServiceContext) -> None:
    number = registered(ctx, subject_org_code="GS", subject_name="省办", title="反映省办")
    with pytest.raises(AvoidanceViolation):
        CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS"})
    assert CaseService(ctx).get(number).state == "received"


def test_a_repeat_complaint_is_linked_not_opened_twice(ctx: ServiceContext) -> None:
    first = CaseService(ctx).register(complaint(), actor=DISPATCHER)
    again = CaseService(ctx).register(
        complaint(title=" 城关区住建局拖欠某建设集团工程款4216万元！", complainant_name="另一人"),
        actor=DISPATCHER)
    assert again.linked and again.case.number == first.case.number
    assert again.case.repeat_count == 1
    with Session(ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 1
        assert session.exec(select(func.count()).select_from(RepeatContact)).one() == 1


def test_a_complaint_about_a_closed_matter_opens_a_new_case(ctx: ServiceContext) -> None:
    number = registered(ctx)
    service = CaseService(ctx)
    service.act(number, "refer", actor=DISPATCHER)
    service.act(number, "acknowledge_referral", actor=SUPERVISOR)
    service.act(number, "record_result", actor=SUPERVISOR, form={"outcome": "case_opened", "text": "已查处"})
    service.act(number, "notify_result", actor=SUPERVISOR)
    again = service.register(complaint(), actor=DISPATCHER)
    assert not again.linked and again.case.number != number


def test_a_returned_case_goes_back_to_the_same_unit_with_reasons_and_a_fresh_deadline(
    ctx: ServiceContext,
) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已处理"})
    advance(ctx, days=14)  # 2023-10-11
    case = service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "事实不清，问题未解决"})
    assert case.state == "returned"
    assert case.unit_id == org_id(ctx, "GS-LZ-CG-GOV")
    assert case.return_count == 1
    assert case.deadline_kind == "handling"
    assert case.deadline_on == dt.date(2023, 10, 18)  # 5 working days after 2023-10-11
    with Session(ctx.engine) as session:
        review = session.exec(select(Review)).one()
    assert (review.decision, review.reasons) == ("returned", "事实不清，问题未解决")
    # It never signed for the case (签收), which it still may; a government may also pass it on to
    # its department (二次交办).
    assert service.allowed_actions(case, unit) == ["sign_for", "request_extension", "delegate",
                                                   "submit_report"]


def test_the_whole_path_from_intake_to_closing_leaves_a_verified_chain(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已处理"})
    service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "未解决"})
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已支付全部欠款"})
    service.act(number, "approve", actor=SUPERVISOR)
    case = service.act(number, "record_callback", actor=DISPATCHER,
                       form={"method": "phone", "result": "satisfied", "note": "满意"})
    assert case.state == "closed" and case.closed_at is not None and case.deadline_on is None
    with Session(ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)
                               .order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["register", "transfer", "submit_report", "send_back",
                                          "submit_report", "approve", "record_callback"]
    assert verify(ctx, case=number).findings == []  # its chain, rows and facts


def test_an_unsatisfied_callback_sends_the_case_back_to_the_unit(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "好了"})
    service.act(number, "approve", actor=SUPERVISOR)
    case = service.act(number, "record_callback", actor=DISPATCHER,
                       form={"method": "phone", "result": "unsatisfied", "reason": "水仍未通"})
    assert (case.state, case.return_count) == ("returned", 1)


def test_a_closed_case_reopens_on_revisit(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "好了"})
    service.act(number, "approve", actor=SUPERVISOR)
    service.act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    case = service.act(number, "reopen", actor=SUPERVISOR, form={"reason": "回头看发现问题反弹"})
    assert case.state == "returned" and case.closed_at is None and case.deadline_on is not None


def test_the_referred_path_records_the_commissions_result(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ-CG")
    service = CaseService(ctx)
    case = service.act(number, "refer", actor=DISPATCHER)
    assert case.unit_id == org_id(ctx, "GS-LZ-JW")  # the county has none: the city's commission
    commission = unit_actor(ctx, "GS-LZ-JW")
    service.act(number, "acknowledge_referral", actor=commission)
    case = service.act(number, "record_result", actor=commission,
                       form={"outcome": "case_opened", "text": "已立案审查"})
    assert case.state == "referred"  # a real-name reporter is owed the result first
    case = service.act(number, "notify_result", actor=commission)
    assert case.state == "closed"
    with pytest.raises(ActionNotAllowed) as err:
        service.act(number, "reopen", actor=SUPERVISOR, form={"reason": "回头看"})
    assert "纪检监察机关" in err.value.reason


def test_a_return_asked_within_five_working_days_waits_for_the_dispatcher(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    advance(ctx, days=10)  # 2023-10-07, the 3rd working day after dispatch (Sep 28, Oct 7…)
    case = CaseService(ctx).act(number, "request_return", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                                form={"reason": "不属本单位职责"})
    assert (case.state, case.disposition, case.deadline_kind) == ("transferred", "transfer", "handling")
    assert case.unit_id == org_id(ctx, "GS-LZ-CG-GOV")
    case = CaseService(ctx).act(number, "accept_return", actor=DISPATCHER)
    assert (case.state, case.unit_id, case.disposition, case.deadline_kind) == (
        "received", None, None, "triage")


def test_a_return_asked_after_five_working_days_is_refused_with_the_rule(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    advance(ctx, days=14)  # 2023-10-11: the 6th working day
    with pytest.raises(ActionNotAllowed) as err:
        CaseService(ctx).act(number, "request_return", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                             form={"reason": "不属本单位职责"})
    assert "5个工作日" in err.value.reason


def test_one_extension_of_at_most_thirty_days_approved_by_the_office(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    # Working days (policy [extension] unit) up to 30 calendar days after 2023-10-10: 22 of them.
    with pytest.raises(InvalidActionInput) as err:
        service.act(number, "request_extension", actor=unit, form={"days": 23, "reason": "复杂"})
    assert err.value.field == "days"
    assert err.value.limits["le"] == 22
    service.act(number, "request_extension", actor=unit, form={"days": 10, "reason": "需协调"})
    with pytest.raises(ActionNotAllowed):
        service.act(number, "request_extension", actor=unit, form={"days": 5, "reason": "再延"})
    case = service.act(number, "approve_extension", actor=SUPERVISOR)
    assert case.extension_days == 10
    assert case.deadline_on == dt.date(2023, 10, 24)  # 2023-10-10 + 10 working days
    with pytest.raises(ActionNotAllowed):
        service.act(number, "request_extension", actor=unit, form={"days": 5, "reason": "再延"})


def test_a_case_page_offers_what_its_returns_and_extensions_allow(ctx: ServiceContext) -> None:
    """The page tells the guards the returns and extensions it has read (`Guards.knowing`): what
    it offers each reader is what the guards, asking the database, allow."""
    number = transferred(ctx)
    service = CaseService(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")

    def offered() -> dict[str, list[str]]:
        pages = {who.name: case_detail(ctx, number, actor=who, page=True)["allowed_actions"]
                 for who in (DISPATCHER, SUPERVISOR, unit)}
        case = service.get(number)
        assert pages == {who.name: service.allowed_actions(case, who)
                         for who in (DISPATCHER, SUPERVISOR, unit)}
        return pages

    assert "request_return" in offered()[unit.name]
    service.act(number, "request_return", actor=unit, form={"reason": "不属本单位职责"})
    pending = offered()
    assert {"accept_return", "reject_return"} <= set(pending[DISPATCHER.name])
    assert "request_return" not in pending[unit.name]
    service.act(number, "reject_return", actor=DISPATCHER, form={"reason": "属本单位职责"})
    assert "reject_return" not in offered()[DISPATCHER.name]
    service.act(number, "request_extension", actor=unit, form={"days": 10, "reason": "需协调"})
    asked = offered()
    assert "approve_extension" in asked[SUPERVISOR.name]
    assert "request_extension" not in asked[unit.name]
    service.act(number, "approve_extension", actor=SUPERVISOR)
    approved = offered()
    assert "approve_extension" not in approved[SUPERVISOR.name]
    assert "request_extension" not in approved[unit.name]  # one extension a case (policy)


def test_step_up_raises_the_disposition_one_rung_and_escalation_moves_it_up_a_level(
    ctx: ServiceContext,
) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    assert service.act(number, "step_up", actor=SUPERVISOR, form={"reason": "超期"}).state == "supervised"
    assert service.act(number, "step_up", actor=SUPERVISOR, form={"reason": "超期"}).state == "key_supervised"
    case = service.act(number, "step_up", actor=SUPERVISOR, form={"reason": "不作为"})
    assert (case.state, case.disposition) == ("escalated", "escalate")
    assert case.unit_id == org_id(ctx, "GS-LZ")  # the city office takes over the county's case


def test_priority_cases_come_first_then_the_nearest_deadline(ctx: ServiceContext) -> None:
    normal = registered(ctx, title="一般事项", priority="normal", subject_name="甲")
    water = registered(ctx, title="停水", priority="livelihood", subject_name="乙", category="water")
    business = registered(ctx, title="拖欠", priority="enterprise", subject_name="丙")
    rows = list_cases(ctx, CaseFilter(), actor=DISPATCHER)
    assert [r.number for r in rows] == [water, business, normal]


def test_a_unit_never_sees_who_complained_unless_they_agreed(ctx: ServiceContext) -> None:
    hidden = transferred(ctx)
    shown = transferred(ctx, title="另一件", subject_name="别的", complainant_consent=True,
                        complainant_name="同意公开的人")
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    masked = case_detail(ctx, hidden, actor=unit)["complainant"]
    assert "测试反映人" not in str(masked) and "19900123456" not in str(masked)
    assert case_detail(ctx, shown, actor=unit)["complainant"]["name"] == "同意公开的人"
    assert case_detail(ctx, hidden, actor=DISPATCHER)["complainant"]["name"] == "测试反映人"


def test_warning_colours_follow_the_working_days_left(ctx: ServiceContext) -> None:
    number = registered(ctx, priority="normal")  # 15 working days to the transfer deadline
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})

    def colour() -> str:
        return list_cases(ctx, CaseFilter(text=number), actor=DISPATCHER)[0].warning

    assert colour() == "none"
    advance(ctx, days=22)  # 2023-10-19: 4 working days left of 15
    assert colour() == "blue"
    advance(ctx, days=5)  # 2023-10-24: the deadline day
    assert colour() == "yellow"
    advance(ctx, days=1)
    assert colour() == "red"


def test_a_case_that_does_not_exist_is_a_clear_error(ctx: ServiceContext) -> None:
    with pytest.raises(CaseNotFound):
        CaseService(ctx).act("GS-2099-99999", "transfer", actor=DISPATCHER, form={"unit": "GS"})


def test_registration_refuses_an_unknown_priority_and_a_non_office(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).register(complaint(priority="vip"), actor=DISPATCHER)
    assert err.value.field == "priority"
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).register(complaint(office_code="GS-LZ-ZJJ"), actor=DISPATCHER)
    assert err.value.field == "office_code"
    with Session(ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 0
        assert session.exec(select(Org).where(Org.code == "GS")).one()


def test_registration_refuses_nul_bytes_broken_unicode_and_future_dates_at_every_door(
    ctx: ServiceContext,
) -> None:
    for fields, field in ((dict(title="欠款\x00"), "title"), (dict(summary="坏\ud800"), "summary"),
                          (dict(complainant_name="王\x00"), "complainant_name")):
        with pytest.raises(InvalidActionInput) as err:
            CaseService(ctx).register(complaint(**fields), actor=DISPATCHER)
        assert err.value.field == field
    future = ctx.now() + dt.timedelta(days=1)
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).register(complaint(received_at=future), actor=DISPATCHER)
    assert err.value.field == "received_at"
