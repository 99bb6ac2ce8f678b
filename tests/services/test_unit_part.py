"""The unit's part: 签收 and its reminder, 退单 as a request the dispatcher decides, and the
structured handling report (是否属实, what was done, 整改, 问责)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.errors import ActionNotAllowed, CaseNotFound, InvalidActionInput, PermissionDenied
from duban.models import AuditEvent, HandlingReport, Notification, Objection, PressureStep
from duban.reports.figures import EVENT_FIGURES, RESPONSE_ACTIONS
from duban.services import CaseService, ServiceContext
from duban.services.auditrows import Covered, covered_tables, row_digest
from duban.services.integrity import verify_audit
from duban.services.queries import scope_for
from duban.services.reading import case_detail, list_cases
from duban.services.sweeps import run_deadline_sweep
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, org_id, transferred, unit_actor, world

UNIT = "GS-LZ-CG-GOV"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 10:00")  # a Wednesday, no holiday near


def at(ctx: ServiceContext, when: str) -> None:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(parse_local(when))


def reminders(ctx: ServiceContext, number: str) -> list[Notification]:
    case_id = CaseService(ctx).get(number).id
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Notification).where(
            Notification.case_id == case_id, Notification.kind == "remind_sign_for")))


def returns(ctx: ServiceContext, number: str) -> list[Objection]:
    case_id = CaseService(ctx).get(number).id
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Objection).where(Objection.case_id == case_id)
                                    .order_by(Objection.id)))


def numbers(ctx: ServiceContext, actor: object, **filters: object) -> list[str]:
    with Session(ctx.engine) as session:
        flt = scope_for(session, actor)  # type: ignore[arg-type]
    for name, value in filters.items():
        setattr(flt, name, value)
    return [r.number for r in list_cases(ctx, flt, actor=actor)]  # type: ignore[arg-type]


# -- 签收 ------------------------------------------------------------------------------------------


def test_a_dispatched_case_awaits_signing_and_the_unit_signs_for_it_once(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    unit = unit_actor(ctx, UNIT)
    case = CaseService(ctx).get(number)
    assert (case.signed_at, case.sign_due_on) == (None, dt.date(2023, 3, 2))  # 1 working day
    assert "sign_for" in CaseService(ctx).allowed_actions(case, unit)
    assert numbers(ctx, unit, unsigned=True) == [number]
    at(ctx, "2023-03-01 15:00")
    signed = CaseService(ctx).act(number, "sign_for", actor=unit)
    assert (signed.signed_by, signed.sign_due_on) == (unit.name, None)
    assert signed.signed_at == parse_local("2023-03-01 15:00")
    assert signed.state == "transferred" and signed.deadline_on == case.deadline_on
    assert numbers(ctx, unit, unsigned=True) == []
    with pytest.raises(ActionNotAllowed) as refused:
        CaseService(ctx).act(number, "sign_for", actor=unit)
    assert "已签收" in refused.value.reason
    shown = case_detail(ctx, number, actor=unit)
    assert shown["case"]["signed_by"] == unit.name and not shown["row"]["unsigned"]


def test_a_reassigned_case_must_be_signed_for_again_by_its_new_unit(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, UNIT))
    at(ctx, "2023-03-03 10:00")
    moved = CaseService(ctx).act(number, "reassign", actor=DISPATCHER,
                                 form={"unit": "GS-LZ-CG-SWJ", "reason": "属水务局职责"})
    assert (moved.signed_at, moved.signed_by, moved.sign_due_on) == (None, None, dt.date(2023, 3, 6))
    with pytest.raises(CaseNotFound):  # the old unit no longer sees it
        CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, UNIT))
    signed = CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, "GS-LZ-CG-SWJ"))
    assert signed.signed_by == unit_actor(ctx, "GS-LZ-CG-SWJ").name


def test_an_unsigned_case_is_reminded_once_the_working_day_after_its_limit(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    at(ctx, "2023-03-02 09:00")  # the day it is due: not late yet
    assert run_deadline_sweep(ctx).steps.get("remind_sign_for+1", 0) == 0
    at(ctx, "2023-03-03 09:00")
    assert run_deadline_sweep(ctx).steps["remind_sign_for+1"] == 1
    [mail] = reminders(ctx, number)
    assert mail.org_id == org_id(ctx, UNIT) and mail.audience == "unit"
    assert "【催签收】" in mail.subject and "2023-03-02" in mail.body
    assert run_deadline_sweep(ctx).steps.get("remind_sign_for+1", 0) == 0  # the same day again
    at(ctx, "2023-03-10 09:00")
    run_deadline_sweep(ctx)
    assert len(reminders(ctx, number)) == 1  # once per handover, however long it stays unsigned
    case_id = CaseService(ctx).get(number).id
    with Session(ctx.engine) as session:
        steps = session.scalars(select(PressureStep.episode).where(
            PressureStep.case_id == case_id, PressureStep.step == "remind_sign_for+1")).all()
    assert steps == ["s2023-03-02"]


def test_a_new_unit_is_reminded_for_its_own_handover_and_a_signed_case_never(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    signed = transferred(ctx, title="另一件")
    CaseService(ctx).act(signed, "sign_for", actor=unit_actor(ctx, UNIT))
    at(ctx, "2023-03-03 09:00")
    run_deadline_sweep(ctx)
    CaseService(ctx).act(number, "reassign", actor=DISPATCHER,
                         form={"unit": "GS-LZ-CG-SWJ", "reason": "属水务局职责"})
    at(ctx, "2023-03-07 09:00")
    run_deadline_sweep(ctx)
    assert [m.org_id for m in reminders(ctx, number)] == [org_id(ctx, UNIT), org_id(ctx, "GS-LZ-CG-SWJ")]
    assert reminders(ctx, signed) == []


# -- 退单 ------------------------------------------------------------------------------------------


def test_a_return_request_leaves_the_case_with_the_unit_its_clock_running(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    unit = unit_actor(ctx, UNIT)
    before = CaseService(ctx).get(number)
    at(ctx, "2023-03-02 10:00")
    asked = CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "不属本单位职责"})
    assert (asked.state, asked.unit_id, asked.deadline_on, asked.deadline_seq) == (
        "transferred", before.unit_id, before.deadline_on, before.deadline_seq)
    assert numbers(ctx, DISPATCHER, return_pending=True) == [number]
    with pytest.raises(ActionNotAllowed) as again:  # one pending at a time
        CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "再次申请"})
    assert "已有待审核的退单申请" in again.value.reason
    with pytest.raises(InvalidActionInput) as bare:  # the reason is required
        CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "  "})
    assert bare.value.field == "reason"
    assert "accept_return" not in CaseService(ctx).allowed_actions(asked, unit)
    assert {"accept_return", "reject_return"} <= set(CaseService(ctx).allowed_actions(asked, DISPATCHER))


def test_a_rejected_return_keeps_the_case_with_the_unit_and_needs_a_reason(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    unit = unit_actor(ctx, UNIT)
    CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "不属本单位职责"})
    with pytest.raises(InvalidActionInput) as bare:
        CaseService(ctx).act(number, "reject_return", actor=DISPATCHER, form={})
    assert bare.value.field == "reason"
    with pytest.raises(PermissionDenied):  # the unit cannot decide its own request
        CaseService(ctx).act(number, "reject_return", actor=unit, form={"reason": "x"})
    kept = CaseService(ctx).act(number, "reject_return", actor=DISPATCHER,
                                form={"reason": "属地管理，由你单位牵头办理"})
    assert (kept.state, kept.unit_id) == ("transferred", org_id(ctx, UNIT))
    [row] = returns(ctx, number)
    assert (row.status, row.decided_by, row.decision_note) == (
        "rejected", DISPATCHER.name, "属地管理，由你单位牵头办理")
    assert numbers(ctx, DISPATCHER, return_pending=True) == []
    # Still within the window, the unit may ask again; the dispatcher may then agree.
    CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "补充：该小区不在本辖区"})
    back = CaseService(ctx).act(number, "accept_return", actor=DISPATCHER)
    assert [r.status for r in returns(ctx, number)] == ["rejected", "accepted"]
    assert (back.state, back.unit_id, back.disposition, back.deadline_kind) == (
        "received", None, None, "triage")


def test_an_accepted_return_is_marked_with_its_reason_and_counted(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    unit = unit_actor(ctx, UNIT)
    CaseService(ctx).act(number, "sign_for", actor=unit)
    CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "该事项属于水务部门职责"})
    back = CaseService(ctx).act(number, "accept_return", actor=DISPATCHER, form={"note": "同意，改派"})
    assert (back.signed_at, back.sign_due_on) == (None, None)
    shown = case_detail(ctx, number, actor=DISPATCHER)
    [row] = shown["returns"]
    assert (row["status"], row["reason"], row["decision_note"]) == (
        "accepted", "该事项属于水务部门职责", "同意，改派")
    with Session(ctx.engine) as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == back.id)
                                  .order_by(AuditEvent.seq)).all()
    assert actions[-3:] == ["sign_for", "request_return", "accept_return"]
    assert "accept_return" in EVENT_FIGURES["objections"] and "request_return" in RESPONSE_ACTIONS
    redispatched = CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ"})
    assert redispatched.sign_due_on is not None  # the new unit signs for it


def test_a_pending_return_lapses_when_the_case_is_reassigned_or_reported(ctx: ServiceContext) -> None:
    moved, reported = transferred(ctx), transferred(ctx, title="另一件")
    unit = unit_actor(ctx, UNIT)
    for number in (moved, reported):
        CaseService(ctx).act(number, "request_return", actor=unit, form={"reason": "不属本单位职责"})
    CaseService(ctx).act(moved, "reassign", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ", "reason": "改派"})
    CaseService(ctx).act(reported, "submit_report", actor=unit, form={**REPORTED, "text": "已办结"})
    assert [r.status for n in (moved, reported) for r in returns(ctx, n)] == ["lapsed", "lapsed"]
    assert numbers(ctx, DISPATCHER, return_pending=True) == []
    with pytest.raises(ActionNotAllowed):
        CaseService(ctx).act(moved, "accept_return", actor=DISPATCHER)
    assert verify_audit(ctx)[2] == []


def test_object_is_no_longer_an_action(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    with pytest.raises(InvalidActionInput) as unknown:
        CaseService(ctx).act(number, "object", actor=unit_actor(ctx, UNIT), form={"reason": "x"})
    assert unknown.value.field == "action"


# -- the structured handling report --------------------------------------------------------------


def test_a_final_report_states_its_finding_and_what_was_done(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    unit = unit_actor(ctx, UNIT)
    for missing in ("finding", "actions_taken"):
        form = {**REPORTED, "text": "已办结"}
        del form[missing]
        with pytest.raises(InvalidActionInput) as refused:
            CaseService(ctx).act(number, "submit_report", actor=unit, form=form)
        assert (refused.value.field, refused.value.kind) == (missing, "missing")
    with pytest.raises(InvalidActionInput) as bad:
        CaseService(ctx).act(number, "submit_report", actor=unit,
                             form={**REPORTED, "finding": "maybe", "text": "已办结"})
    assert bad.value.field == "finding"
    CaseService(ctx).act(number, "submit_report", actor=unit, form={
        "text": "经核查，拖欠款项已支付。", "finding": "partly_true", "actions_taken": "约谈住建局，督促付款",
        "rectification": "建立欠款台账，按月清偿", "accountability": "对经办人诫勉谈话"})
    shown = case_detail(ctx, number, actor=SUPERVISOR)
    [report] = shown["reports"]
    parts = ("kind", "finding", "actions_taken", "rectification", "accountability")
    assert {k: report[k] for k in parts} == {
        "kind": "final", "finding": "partly_true", "actions_taken": "约谈住建局，督促付款",
        "rectification": "建立欠款台账，按月清偿", "accountability": "对经办人诫勉谈话"}
    with Session(ctx.engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "submit_report")).one()
    assert event.data["finding"] == "partly_true"
    assert verify_audit(ctx)[2] == []  # the report's parts are covered by its event


def test_the_policy_names_which_parts_a_final_report_must_fill_in(ctx: ServiceContext) -> None:
    ctx.policy = ctx.policy.model_copy(deep=True)
    ctx.policy.handling_report.required = ["finding", "actions_taken", "rectification", "accountability"]
    number = transferred(ctx)
    with pytest.raises(InvalidActionInput) as refused:
        CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                             form={**REPORTED, "text": "已办结", "rectification": "已整改"})
    assert refused.value.field == "accountability"


def test_a_progress_report_is_free_text_as_before(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    CaseService(ctx).act(number, "step_up", actor=DISPATCHER, form={"reason": "升级"})
    CaseService(ctx).act(number, "step_up", actor=DISPATCHER, form={"reason": "重点督办"})
    CaseService(ctx).act(number, "report_progress", actor=unit_actor(ctx, UNIT), form={"text": "已完成一半"})
    with Session(ctx.engine) as session:
        report = session.scalars(select(HandlingReport)).one()
    assert (report.kind, report.finding, report.actions_taken) == ("progress", None, "")
    with pytest.raises(InvalidActionInput):  # its form takes the text only
        CaseService(ctx).act(number, "report_progress", actor=unit_actor(ctx, UNIT),
                             form={"text": "x", "finding": "true"})


# -- rows from before migration 0012 --------------------------------------------------------------


def test_rows_from_before_the_new_columns_keep_their_digests() -> None:
    for table, before in (("objections", {"status": "accepted", "decided_by": None, "decided_at": None,
                                           "decision_note": ""}),
                          ("handling_reports", {"finding": None, "actions_taken": "", "rectification": "",
                                                "accountability": ""})):
        covered = covered_tables()[table]
        old = Covered(covered.table, covered.case_column, covered.key,
                      tuple(c for c in covered.columns if c not in covered.added), covered.event_optional)
        values = {c: f"v-{c}" for c in old.columns}
        assert row_digest(covered, {**values, **before}, "sha256") == row_digest(old, values, "sha256")
        name = next(iter(before))
        changed = {**values, **before, name: "rejected"}
        assert row_digest(covered, changed, "sha256") != row_digest(old, values, "sha256")
