"""移交纪检监察机关 as its own path: jurisdiction, the commission's steps, notices, scope."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.errors import (
    ActionNotAllowed,
    CaseHeldElsewhere,
    CaseNotFound,
    InvalidActionInput,
    PermissionDenied,
)
from duban.models import AuditEvent, PressureStep, Referral
from duban.services import Actor, CaseService, ServiceContext
from duban.services.integrity import verify
from duban.services.queries import scope_for
from duban.services.reading import case_detail, list_cases
from duban.services.sweeps import run_deadline_sweep
from tests.factories import (
    CLERK,
    DISPATCHER,
    LEADER,
    REPORTED,
    SUPERVISOR,
    advance,
    org_id,
    registered,
    transferred,
    unit_actor,
    world,
)


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def _code(ctx: ServiceContext, org: int | None) -> str | None:
    return ctx.orgs.by_id(org).code if org is not None else None


def _office(ctx: ServiceContext, role: str, code: str) -> Actor:
    return Actor(f"{code}{role}", role, org_id(ctx, code))


def test_a_complaint_about_a_city_commission_goes_to_the_commission_above_it(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ", subject_name="兰州市纪委监委", subject_org_code="GS-LZ-JW")
    case = CaseService(ctx).act(number, "refer", actor=_office(ctx, "dispatcher", "GS-LZ"))
    assert _code(ctx, case.unit_id) == "GS-JW" and case.state == "referred"


def test_a_complaint_about_a_county_bureau_goes_to_the_commission_at_its_level_or_the_nearest_above(
        ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS", subject_name="城关区住建局", subject_org_code="GS-LZ-CG-ZJJ")
    case = CaseService(ctx).act(number, "refer", actor=DISPATCHER)
    assert _code(ctx, case.unit_id) == "GS-LZ-JW"  # 城关区 has no commission in this world


def test_a_dispatcher_may_not_choose_the_commission_a_complaint_is_about(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ", subject_name="兰州市纪委监委", subject_org_code="GS-LZ-JW")
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).act(number, "refer", actor=_office(ctx, "dispatcher", "GS-LZ"),
                             form={"unit": "GS-LZ-JW"})
    assert err.value.field == "unit"
    case = CaseService(ctx).act(number, "refer", actor=_office(ctx, "dispatcher", "GS-LZ"),
                                form={"unit": "GS-JW"})  # the commission above: allowed
    assert _code(ctx, case.unit_id) == "GS-JW"


def test_a_referred_case_has_no_handling_limit_but_an_acceptance_notice_deadline(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    case = CaseService(ctx).act(number, "refer", actor=DISPATCHER)
    assert case.state == "referred" and case.disposition == "refer"
    assert case.deadline_kind == "acknowledgement" and case.notice_due_on == case.deadline_on
    assert _code(ctx, case.unit_id) == "GS-LZ-JW"


def test_an_anonymous_reporter_is_owed_no_notice_and_the_outcome_closes_the_case(ctx: ServiceContext) -> None:
    number = registered(ctx, complainant_real_name=False)
    service = CaseService(ctx)
    case = service.act(number, "refer", actor=DISPATCHER)
    assert case.deadline_on is None and case.notice_due_on is None and case.warning == "none"
    commission = unit_actor(ctx, "GS-LZ-JW")
    with pytest.raises(ActionNotAllowed):  # an outcome comes after acceptance
        service.act(number, "record_result", actor=commission, form={"outcome": "dismissed"})
    service.act(number, "acknowledge_referral", actor=commission)
    case = service.act(number, "record_result", actor=commission, form={"outcome": "dismissed"})
    assert case.state == "closed" and case.closed_at is not None


def test_the_outcome_must_be_one_of_the_policys_outcome_types(ctx: ServiceContext) -> None:
    number = registered(ctx)
    service = CaseService(ctx)
    service.act(number, "refer", actor=DISPATCHER)
    service.act(number, "acknowledge_referral", actor=SUPERVISOR)
    with pytest.raises(InvalidActionInput) as err:
        service.act(number, "record_result", actor=SUPERVISOR, form={"outcome": "已处理", "text": "x"})
    assert err.value.field == "outcome"
    with pytest.raises(InvalidActionInput):
        service.act(number, "record_result", actor=SUPERVISOR, form={"text": "no outcome"})


def test_when_handling_continues_the_case_keeps_its_state_unit_and_limit(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    before = service.get(number)
    case = service.act(number, "refer", actor=DISPATCHER, form={"handling_continues": True})
    assert (case.state, case.unit_id, case.deadline_on, case.deadline_kind) == (
        "transferred", before.unit_id, before.deadline_on, "handling")
    assert _code(ctx, case.referred_to_id) == "GS-LZ-JW" and case.notice_due_on is not None
    with pytest.raises(ActionNotAllowed):  # one referral at a time
        service.act(number, "refer", actor=DISPATCHER)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    commission = unit_actor(ctx, "GS-LZ-JW")
    with pytest.raises(PermissionDenied) as refused:  # the unit is not the commission
        service.act(number, "acknowledge_referral", actor=unit)
    assert not isinstance(refused.value, CaseHeldElsewhere)  # told why, not sent to another office
    with pytest.raises(PermissionDenied) as refused:  # nor does the commission handle the unit's work
        service.act(number, "submit_report", actor=commission, form={**REPORTED, "text": "x"})
    assert not isinstance(refused.value, CaseHeldElsewhere)
    service.act(number, "acknowledge_referral", actor=commission)
    service.act(number, "record_result", actor=commission,
                form={"outcome": "talk_inquiry", "text": "谈话函询"})
    case = service.act(number, "notify_result", actor=commission)
    assert case.state == "transferred" and case.notice_due_on is None
    with Session(ctx.engine) as session:
        referral = session.exec(select(Referral)).one()
    assert referral.handling_continues and referral.outcome == "talk_inquiry"
    assert referral.feedback_at is not None and referral.concluded_at is not None
    assert verify(ctx, case=number).findings == []  # the referral row is covered by its events


def test_refer_from_received_cannot_say_that_handling_continues(ctx: ServiceContext) -> None:
    number = registered(ctx)
    with pytest.raises(ActionNotAllowed):
        CaseService(ctx).act(number, "refer", actor=DISPATCHER, form={"handling_continues": True})


def test_a_late_acceptance_notice_is_reminded_to_the_commission_never_laddered(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    CaseService(ctx).act(number, "refer", actor=DISPATCHER)
    advance(ctx, days=60)
    result = run_deadline_sweep(ctx)
    with Session(ctx.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq))
                   if e.case_id == CaseService(ctx).get(number).id]
        steps = {s.step for s in session.exec(select(PressureStep))}
    assert "remind_notice" in actions
    ladder = {"remind", "copy_notice", "work_reminder", "interview", "public_notice", "step_up"}
    assert not ladder & set(actions)
    assert steps <= {"remind_notice+1", "remind_notice+5"} and result.failed == []
    assert CaseService(ctx).get(number).warning == "red"  # the notice is late, not a handling limit


def test_a_referred_case_is_seen_only_by_the_commission_and_the_office_s_supervisors_and_leaders(
        ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ")
    CaseService(ctx).act(number, "refer", actor=_office(ctx, "dispatcher", "GS-LZ"))
    seeing = [unit_actor(ctx, "GS-LZ-JW"), _office(ctx, "supervisor", "GS-LZ"),
              _office(ctx, "leader", "GS-LZ"), _office(ctx, "supervisor", "GS"), SUPERVISOR, LEADER,
              Actor("admin", "admin")]
    blind = [_office(ctx, "dispatcher", "GS-LZ"), _office(ctx, "clerk", "GS-LZ"), DISPATCHER, CLERK,
             _office(ctx, "supervisor", "GS-LZ-CG"), unit_actor(ctx, "GS-LZ-ZJJ"), unit_actor(ctx, "GS-JW")]
    for actor in seeing:
        assert case_detail(ctx, number, actor=actor)["case"]["number"] == number, actor
        with Session(ctx.engine) as session:
            flt = scope_for(session, actor)
        flt.limit = 1000
        assert number in {r.number for r in list_cases(ctx, flt, actor=actor)}, actor
    for actor in blind:
        with pytest.raises(CaseNotFound):
            case_detail(ctx, number, actor=actor)
        with Session(ctx.engine) as session:
            flt = scope_for(session, actor)
        flt.limit = 1000
        assert number not in {r.number for r in list_cases(ctx, flt, actor=actor)}, actor


def test_the_unit_that_goes_on_handling_learns_nothing_of_the_referral(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    service = CaseService(ctx)
    service.act(number, "refer", actor=DISPATCHER, form={"handling_continues": True, "note": "涉嫌违纪"})
    commission = unit_actor(ctx, "GS-LZ-JW")
    service.act(number, "acknowledge_referral", actor=commission)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    mine = case_detail(ctx, number, actor=unit, history=50)
    assert mine["referral"] is None
    assert not {"referred_to_id", "referred_from_id", "notice_due_on"} & set(mine["case"])
    assert [e["action"] for e in mine["timeline"]] == ["register", "transfer"]
    assert mine["timeline_total"] == 2
    assert "acknowledge_referral" not in mine["allowed_actions"]
    theirs = case_detail(ctx, number, actor=commission, history=50)
    assert theirs["referral"]["stage"] == "outcome"
    assert "acknowledge_referral" in [e["action"] for e in theirs["timeline"]]
    assert "record_result" in theirs["allowed_actions"] and "submit_report" not in theirs["allowed_actions"]
    # the other office's dispatcher who saw the case before still sees it, not the referral
    assert case_detail(ctx, number, actor=DISPATCHER)["referral"] is None


def test_a_late_notice_s_mail_goes_to_the_commission_and_is_listed_only_to_whom_the_referral_is(
        ctx: ServiceContext) -> None:
    from duban.models import Notification
    from duban.services.outboxview import list_mail

    number = transferred(ctx)
    CaseService(ctx).act(number, "refer", actor=DISPATCHER, form={"handling_continues": True})
    for _ in range(60):  # swept daily: the unit's own ladder goes on step by step beside it
        advance(ctx, days=1)
        run_deadline_sweep(ctx)
    with Session(ctx.engine) as session:
        reminders = session.exec(select(Notification).where(Notification.kind == "remind_notice")).all()
    assert reminders and {n.org_id for n in reminders} == {org_id(ctx, "GS-LZ-JW")}
    assert any(m.kind == "remind_notice" for m in list_mail(ctx, SUPERVISOR, limit=500))
    for blind in (DISPATCHER, CLERK):
        assert not any(m.kind == "remind_notice" for m in list_mail(ctx, blind, limit=500))
    kinds = [m.kind for m in list_mail(ctx, DISPATCHER, limit=500)]
    assert any(k in ("remind", "copy_notice") for k in kinds), kinds  # the unit's ladder
