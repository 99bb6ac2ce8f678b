"""不予受理 (decline, reinstate) and extensions in the policy's unit, on every configured database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.errors import InvalidActionInput, PermissionDenied
from duban.models import Decline, Extension
from duban.services import CaseService, ServiceContext
from duban.services.context import Actor
from duban.services.extqueue import pending_extension_count, pending_extensions
from duban.services.integrity import verify
from duban.services.queries import CaseFilter
from duban.services.reading import case_detail, list_cases
from tests.factories import (
    CLERK,
    DISPATCHER,
    SUPERVISOR,
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


def office_actor(ctx: ServiceContext, code: str, role: str) -> Actor:
    return Actor(f"{code}{role}", role, org_id(ctx, code))


def test_a_dispatcher_declines_a_received_case_with_a_reason_from_the_policy(ctx: ServiceContext) -> None:
    number = registered(ctx)
    case = CaseService(ctx).act(number, "decline", actor=DISPATCHER,
                                form={"decline_reason": "legal_channel",
                                      "note": "已向法院起诉，联系电话19900123456"})
    assert (case.state, case.decline_reason) == ("not_accepted", "legal_channel")
    # The triage limit stops: nothing is owed on a declined case.
    assert (case.deadline_on, case.deadline_kind) == (None, None)
    with Session(ctx.engine) as session:
        row = session.exec(select(Decline)).one()
    assert row.reason == "legal_channel" and "19900123456" in row.note
    assert "19900123456" not in row.note_redacted
    assert verify(ctx, case=number).findings == []


def test_every_decline_reason_names_its_rule() -> None:
    from duban.config.policy import load_labels, load_policy

    reasons = load_policy().intake.decline_reasons
    assert {"outside_remit", "no_concrete_matter", "legal_channel", "concluded"} <= set(reasons)
    assert all("信访工作条例" in r.source for r in reasons.values())
    assert set(load_labels().decline_reasons) == set(reasons)


def test_a_reason_outside_the_list_is_refused_and_changes_nothing(ctx: ServiceContext) -> None:
    number = registered(ctx)
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).act(number, "decline", actor=DISPATCHER, form={"decline_reason": "不想办"})
    assert err.value.field == "decline_reason"
    case = CaseService(ctx).get(number)
    assert (case.state, case.version) == ("received", 1)


def test_only_dispatchers_and_admins_decline_and_only_supervisors_and_admins_reinstate(
    ctx: ServiceContext,
) -> None:
    number = registered(ctx)
    service = CaseService(ctx)
    for actor in (CLERK, SUPERVISOR):
        with pytest.raises(PermissionDenied):
            service.act(number, "decline", actor=actor, form={"decline_reason": "outside_remit"})
    service.act(number, "decline", actor=DISPATCHER, form={"decline_reason": "outside_remit"})
    with pytest.raises(PermissionDenied):
        service.act(number, "reinstate", actor=DISPATCHER, form={"reason": "误判"})
    with pytest.raises(InvalidActionInput):
        service.act(number, "reinstate", actor=SUPERVISOR, form={"reason": " "})


def test_reinstating_takes_the_case_back_to_triage_with_a_fresh_limit(ctx: ServiceContext) -> None:
    number = registered(ctx)
    service = CaseService(ctx)
    service.act(number, "decline", actor=DISPATCHER, form={"decline_reason": "no_concrete_matter"})
    ctx.clock.advance(dt.timedelta(days=20))  # type: ignore[attr-defined]  # 2023-10-17
    case = service.act(number, "reinstate", actor=SUPERVISOR, form={"reason": "反映人补充了具体事实"})
    assert (case.state, case.decline_reason, case.deadline_kind) == ("received", None, "triage")
    assert case.deadline_on == dt.date(2023, 11, 1)  # 15 days from 2023-10-17
    assert "transfer" in service.allowed_actions(case, DISPATCHER)
    assert verify(ctx, case=number).findings == []


def test_a_declined_case_is_finished_for_open_lists_and_repeats_open_a_new_case(ctx: ServiceContext) -> None:
    number = registered(ctx)
    CaseService(ctx).act(number, "decline", actor=DISPATCHER, form={"decline_reason": "concluded"})
    open_numbers = [r.number for r in list_cases(ctx, CaseFilter(open_only=True), actor=DISPATCHER)]
    assert number not in open_numbers
    declined = list_cases(ctx, CaseFilter(state="not_accepted"), actor=DISPATCHER)
    assert [r.number for r in declined] == [number]
    again = CaseService(ctx).register(complaint(), actor=CLERK)
    assert again.case.number != number
    with pytest.raises(InvalidActionInput):
        CaseService(ctx).register(complaint(repeat_of=number), actor=CLERK)


def test_the_case_page_shows_the_decline_and_its_reason(ctx: ServiceContext) -> None:
    number = registered(ctx)
    CaseService(ctx).act(number, "decline", actor=DISPATCHER,
                         form={"decline_reason": "outside_remit", "note": "属法院职权"})
    detail = case_detail(ctx, number, actor=SUPERVISOR)
    assert detail["case"]["decline_reason"] == "outside_remit"
    assert [(d["reason"], d["note"]) for d in detail["declines"]] == [("outside_remit", "属法院职权")]
    assert detail["allowed_actions"] == ["reinstate"]


def _asked(ctx: ServiceContext, days: int) -> str:
    number = transferred(ctx)  # enterprise transfer: due 2023-10-10 (5 working days)
    CaseService(ctx).act(number, "request_extension", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={"days": days, "reason": "需协调多个部门"})
    return number


def test_an_extension_is_granted_in_part_in_working_days_on_the_official_calendar(
        ctx: ServiceContext) -> None:
    number = _asked(ctx, 7)
    case = CaseService(ctx).act(number, "approve_extension", actor=SUPERVISOR,
                                form={"days": 5, "note": "批5个"})
    # 5 working days after Tuesday 2023-10-10 end on Tuesday 17 October (5 calendar days would
    # have ended on Sunday the 15th, moved to Monday the 16th).
    assert case.deadline_on == dt.date(2023, 10, 17)
    assert (case.extension_days, case.extension_unit) == (5, "workdays")
    assert ctx.labels.amount(case.extension_days, case.extension_unit) == "5个工作日"
    with Session(ctx.engine) as session:
        ext = session.exec(select(Extension)).one()
    assert (ext.days, ext.unit, ext.granted_days, ext.status) == (7, "workdays", 5, "approved")
    assert verify(ctx, case=number).findings == []


def test_an_extension_granted_without_an_amount_is_granted_in_full(ctx: ServiceContext) -> None:
    number = _asked(ctx, 2)
    case = CaseService(ctx).act(number, "approve_extension", actor=SUPERVISOR)
    assert (case.extension_days, case.deadline_on) == (2, dt.date(2023, 10, 12))


def test_the_approver_cannot_grant_more_than_was_asked(ctx: ServiceContext) -> None:
    number = _asked(ctx, 3)
    with pytest.raises(InvalidActionInput) as err:
        CaseService(ctx).act(number, "approve_extension", actor=SUPERVISOR, form={"days": 4})
    assert (err.value.field, err.value.kind, err.value.limits) == (
        "days", "more_than_asked", {"le": 3, "asked": "3个工作日"})
    assert "3个工作日" in str(err.value)
    assert CaseService(ctx).get(number).deadline_on == dt.date(2023, 10, 10)


def test_a_refusal_needs_a_reason_and_keeps_the_deadline(ctx: ServiceContext) -> None:
    number = _asked(ctx, 3)
    service = CaseService(ctx)
    with pytest.raises(InvalidActionInput) as err:
        service.act(number, "reject_extension", actor=SUPERVISOR, form={"reason": ""})
    assert err.value.field == "reason"
    case = service.act(number, "reject_extension", actor=SUPERVISOR, form={"reason": "理由不充分"})
    assert (case.deadline_on, case.extension_days) == (dt.date(2023, 10, 10), 0)
    with Session(ctx.engine) as session:
        ext = session.exec(select(Extension)).one()
    assert (ext.status, ext.granted_days, ext.decision_note) == ("rejected", None, "理由不充分")


def test_pending_requests_wait_in_the_queue_of_the_office_of_record_only(ctx: ServiceContext) -> None:
    number = _asked(ctx, 5)  # received by GS, the province office
    mine = office_actor(ctx, "GS", "supervisor")
    items, count = pending_extensions(ctx, actor=mine)
    assert count == 1
    assert [(i.case_number, i.days, i.amount_label) for i in items] == [(number, 5, "5个工作日")]
    assert pending_extension_count(ctx, actor=office_actor(ctx, "GS-LZ", "supervisor")) == 0
    assert pending_extension_count(ctx, actor=office_actor(ctx, "GS", "dispatcher")) == 1
    assert pending_extension_count(ctx, actor=unit_actor(ctx, "GS-LZ-CG-GOV")) is None
    assert pending_extension_count(ctx, actor=office_actor(ctx, "GS", "clerk")) is None
    CaseService(ctx).act(number, "approve_extension", actor=mine, form={"days": 3})
    assert pending_extension_count(ctx, actor=mine) == 0


def test_an_office_that_counts_extensions_in_calendar_days_gets_calendar_days(ctx: ServiceContext) -> None:
    rule = ctx.policy.extension.model_copy(update={"unit": "days"})
    days = dataclasses.replace(ctx, policy=ctx.policy.model_copy(update={"extension": rule}))
    number = _asked(days, 5)
    case = CaseService(days).act(number, "approve_extension", actor=SUPERVISOR)
    # 5 calendar days after 2023-10-10 is Sunday the 15th: moved to Monday the 16th.
    assert (case.deadline_on, case.extension_unit) == (dt.date(2023, 10, 16), "days")
    assert days.labels.amount(case.extension_days, case.extension_unit) == "5日"
    with pytest.raises(InvalidActionInput) as err:  # the cap is 30 calendar days as written
        CaseService(days).act(transferred(days, title="另一件拖欠工程款"), "request_extension",
                              actor=unit_actor(days, "GS-LZ-CG-GOV"), form={"days": 31, "reason": "复杂"})
    assert err.value.limits["le"] == 30
