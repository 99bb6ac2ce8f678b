"""回访 by method and on a scale: what each result does, 联系不上 attempts and closing as
unreachable, real-name cases closed only after a callback or a listed reason, and who is never
sampled (a complainant nobody can call)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.errors import ActionNotAllowed, CallbackOwed, InvalidActionInput
from duban.models import AuditEvent, Callback, CallbackTask, PressureStep
from duban.services import CaseService, ServiceContext
from duban.services.auditrows import covered_tables, row_digest
from duban.services.callbacks import sample_callbacks
from duban.services.reading import case_detail
from tests.factories import CLERK, REPORTED, SUPERVISOR, transferred, unit_actor, world

UNIT = "GS-LZ-CG-GOV"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 10:00")


def callbacks_policy(ctx: ServiceContext, **changes: Any) -> None:
    ctx.policy = ctx.policy.model_copy(
        update={"callbacks": ctx.policy.callbacks.model_copy(update=changes)})


def verified(ctx: ServiceContext, **overrides: Any) -> str:
    service = CaseService(ctx)
    number = transferred(ctx, **overrides)
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": "已办结"})
    service.act(number, "approve", actor=SUPERVISOR)
    return number


def call(ctx: ServiceContext, number: str, result: str, method: str = "phone", **form: str) -> Any:
    return CaseService(ctx).act(number, "record_callback", actor=CLERK,
                                form={"method": method, "result": result, **form})


def rows(ctx: ServiceContext, model: Any) -> list[Any]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(model).order_by(model.id)))


def test_a_basically_satisfied_visit_closes_the_case_and_finishes_its_queued_callback(
        ctx: ServiceContext) -> None:
    number = verified(ctx)
    sample_callbacks(ctx)
    case = call(ctx, number, "basically_satisfied", method="visit", note="上门回访")
    assert case.state == "closed" and case.closed_at is not None and case.deadline_on is None
    (cb,) = rows(ctx, Callback)
    assert (cb.method, cb.result, cb.reason, cb.satisfied, cb.scale) == (
        "visit", "basically_satisfied", None, None, "basically_satisfied")
    assert [(t.status, t.result) for t in rows(ctx, CallbackTask)] == [("done", "record_callback")]
    last = rows(ctx, AuditEvent)[-1]
    assert (last.action, last.to_state) == ("record_callback", "closed")
    assert last.data["method"] == "visit" and last.data["satisfied"] is True


def test_a_result_policy_does_not_count_as_satisfied_sends_the_case_back_with_the_reason(
        ctx: ServiceContext) -> None:
    callbacks_policy(ctx, satisfied_results=["satisfied"])
    number = verified(ctx)
    with pytest.raises(InvalidActionInput) as refused:
        call(ctx, number, "basically_satisfied")
    assert (refused.value.field, refused.value.kind) == ("reason", "missing")
    assert rows(ctx, Callback) == []
    case = call(ctx, number, "basically_satisfied", method="sms", reason="只解决了一半")
    assert case.state == "returned" and case.return_count == 1 and case.deadline_kind == "handling"
    assert rows(ctx, Callback)[0].reason == "只解决了一半"


def test_an_unsatisfied_callback_needs_the_complainants_reason(ctx: ServiceContext) -> None:
    number = verified(ctx)
    with pytest.raises(InvalidActionInput) as refused:
        call(ctx, number, "unsatisfied", note="不满意")
    assert refused.value.field == "reason"
    assert CaseService(ctx).get(number).state == "verified"
    assert call(ctx, number, "unsatisfied", reason="工程款仍未支付").state == "returned"


def test_unreachable_attempts_of_an_earlier_verification_do_not_count_on_the_page_or_in_the_action(
        ctx: ServiceContext) -> None:
    """A case sent back after a callback and verified again counts its 联系不上 afresh: on its
    page (the guards count the callbacks it read) as the action does."""
    callbacks_policy(ctx, unreachable_after_attempts=2)
    number = verified(ctx)
    service = CaseService(ctx)

    def may_close() -> bool:
        page = case_detail(ctx, number, actor=SUPERVISOR, page=True)
        offered = "close_unreachable" in page["allowed_actions"]
        assert offered == ("close_unreachable" in service.allowed_actions(service.get(number), SUPERVISOR))
        return offered

    call(ctx, number, "unreachable", note="无人接听")
    call(ctx, number, "unreachable", method="sms")
    assert may_close()
    assert call(ctx, number, "unsatisfied", reason="工程款仍未支付").state == "returned"
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": "已重新办理"})
    assert service.act(number, "approve", actor=SUPERVISOR).state == "verified"
    assert not may_close()
    call(ctx, number, "unreachable", note="无人接听")
    assert not may_close()
    call(ctx, number, "unreachable", method="sms")
    assert may_close()


def test_a_method_or_result_off_the_list_is_refused(ctx: ServiceContext) -> None:
    number = verified(ctx)
    for form in ({"method": "fax", "result": "satisfied"}, {"method": "phone", "result": "happy"},
                 {"result": "satisfied"}):
        with pytest.raises(InvalidActionInput):
            CaseService(ctx).act(number, "record_callback", actor=CLERK, form=form)


def test_unreachable_attempts_keep_the_case_waiting_until_policy_lets_it_close_as_unreachable(
        ctx: ServiceContext) -> None:
    callbacks_policy(ctx, unreachable_after_attempts=3)
    number = verified(ctx)
    service = CaseService(ctx)
    for attempt in (1, 2):
        case = call(ctx, number, "unreachable", method="phone", note=f"第{attempt}次无人接听")
        assert case.state == "verified"
        assert "close_unreachable" not in service.allowed_actions(case, SUPERVISOR)
        # the page counts the attempts among the callbacks it has read (Guards.knowing)
        page = case_detail(ctx, number, actor=SUPERVISOR, page=True)
        assert "close_unreachable" not in page["allowed_actions"]
    with pytest.raises(ActionNotAllowed) as refused:
        service.act(number, "close_unreachable", actor=SUPERVISOR)
    assert "联系不上的次数未达规定" in refused.value.reason
    call(ctx, number, "unreachable", method="sms")
    case = service.get(number)
    assert "close_unreachable" in service.allowed_actions(case, SUPERVISOR)
    assert "close_unreachable" in case_detail(ctx, number, actor=SUPERVISOR, page=True)["allowed_actions"]
    case = service.act(number, "close_unreachable", actor=SUPERVISOR, form={"note": "三次联系不上"})
    assert case.state == "closed"
    assert [cb.result for cb in rows(ctx, Callback)] == ["unreachable"] * 3
    events = [e for e in rows(ctx, AuditEvent) if e.action in ("record_callback", "close_unreachable")]
    assert [e.data.get("attempt") for e in events[:3]] == [1, 2, 3]
    assert events[-1].data == {"attempts": 3, "outcome": "unreachable"}


def test_attempts_count_within_one_verification(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, unreachable_after_attempts=2)
    number = verified(ctx)
    service = CaseService(ctx)
    call(ctx, number, "unreachable")
    call(ctx, number, "unsatisfied", reason="仍未解决")  # back to the unit
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": "已再次处理"})
    service.act(number, "approve", actor=SUPERVISOR)
    call(ctx, number, "unreachable")  # the first of this verification, not the second
    with pytest.raises(ActionNotAllowed):
        service.act(number, "close_unreachable", actor=SUPERVISOR)


def test_a_real_name_case_is_closed_without_a_callback_only_with_a_listed_reason(
        ctx: ServiceContext) -> None:
    number = verified(ctx)
    service = CaseService(ctx)
    call(ctx, number, "unreachable")  # an attempt that reached nobody is no callback
    with pytest.raises(CallbackOwed) as owed:
        service.act(number, "close", actor=SUPERVISOR, form={"note": "已办好"})
    assert (owed.value.field, owed.value.kind, owed.value.reasons) == (
        "reason", "callback_owed", ["declined", "no_contact"])
    for named in ("record_callback", "close_unreachable", "declined", "no_contact"):
        assert named in str(owed.value)
    with pytest.raises(InvalidActionInput) as wrong:
        service.act(number, "close", actor=SUPERVISOR, form={"reason": "busy"})
    assert (wrong.value.field, wrong.value.kind) == ("reason", "literal_error")
    assert service.get(number).state == "verified"
    case = service.act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    assert case.state == "closed"
    last = rows(ctx, AuditEvent)[-1]
    assert last.data["close_reason"] == "declined" and last.reason == "反映人明确表示无需回访"


def test_an_anonymous_case_closes_with_no_reason(ctx: ServiceContext) -> None:
    number = verified(ctx, complainant_real_name=False, complainant_name="", complainant_phone="")
    assert CaseService(ctx).act(number, "close", actor=SUPERVISOR).state == "closed"


@pytest.mark.parametrize("who", [
    {"complainant_real_name": False},  # anonymous, though a phone was left
    {"complainant_real_name": False, "complainant_name": "", "complainant_phone": ""},
    {"complainant_phone": ""},  # real name, no phone: nobody to call
    {"complainant_phone": "   "},
])
def test_a_complainant_nobody_can_call_is_never_sampled_and_is_counted_apart(
        ctx: ServiceContext, who: dict[str, Any]) -> None:
    callbacks_policy(ctx, ratio=1.0, all_real_name=True)
    verified(ctx, **who)
    result = sample_callbacks(ctx)
    assert (result.queued["callback"], result.uncallable, result.skipped) == (0, 1, 0)
    assert rows(ctx, CallbackTask) == []
    assert [m.outcome for m in rows(ctx, PressureStep)] == ["uncallable"]
    assert sample_callbacks(ctx).considered == 0  # decided once


def test_a_callback_from_before_the_scale_reads_on_it_and_keeps_the_digest_its_event_holds(
        ctx: ServiceContext) -> None:
    number = verified(ctx)
    call(ctx, number, "unsatisfied", reason="未解决")
    with ctx.engine.begin() as conn:  # as 0011 left it: the flag only
        conn.execute(Callback.__table__.update().values(  # type: ignore[attr-defined]
            satisfied=True, method=None, result=None, reason=None, episode=None))
    (cb,) = rows(ctx, Callback)
    assert cb.scale == "satisfied"
    detail = case_detail(ctx, number, actor=SUPERVISOR)
    assert [(c["result"], c["method"]) for c in detail["callbacks"]] == [("satisfied", None)]
    # The digest of such a row is the one an event wrote before 0015 (the scripts/audit-check
    # formula over the columns then): the added columns count only when set.
    values = {"case_id": cb.case_id, "satisfied": True, "note": cb.note, "caller": cb.caller,
              "called_at": cb.called_at, "method": None, "result": None, "reason": None, "episode": None}
    before = json.dumps([cb.case_id, True, cb.note, cb.caller, cb.called_at.isoformat()],
                        ensure_ascii=False, separators=(",", ":"))
    old = hashlib.new("sha256", f"callbacks\0{before}".encode()).hexdigest()[:32]
    covered = covered_tables()["callbacks"]
    assert row_digest(covered, values, "sha256") == old
    assert row_digest(covered, {**values, "result": "satisfied"}, "sha256") != old
