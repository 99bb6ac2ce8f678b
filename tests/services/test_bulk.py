"""Bulk actions: each case its own audited action, one outcome per number, nothing done twice."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.errors import (
    ActionNotAllowed,
    CaseNotFound,
    InvalidActionInput,
    PermissionDenied,
)
from duban.models import AuditEvent, CallbackTask, Case
from duban.services import Actor, CaseService, ServiceContext, bulk
from duban.services.callbacks import callback_queue, sample_callbacks
from duban.services.integrity import verify
from duban.services.users import create_user
from tests.factories import DISPATCHER, REPORTED, advance, org_id, registered, transferred, unit_actor, world

PASSWORD = "bulk-actions-2023"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 10:00")


def lanzhou(ctx: ServiceContext, role: str) -> Actor:
    return Actor(f"兰州{role}", role, org_id(ctx, "GS-LZ"))


def handled(ctx: ServiceContext, count: int, *, matter: str = "城关区住建局拖欠工程款",
            **overrides: object) -> list[str]:
    """Cases received by 兰州市办 and transferred to 城关区人民政府."""
    return [transferred(ctx, office_code="GS-LZ", title=f"第{i}件：{matter}", **overrides)
            for i in range(count)]


def elsewhere(ctx: ServiceContext) -> str:
    """A case of 临夏州: out of 兰州's scope."""
    number = registered(ctx, office_code="GS-LX", title="临夏某事", subject_name="", subject_org_code=None)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LX-GOV"})
    return number


def events(ctx: ServiceContext, action: str, number: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if number is not None:
        query = query.join(Case, Case.id == AuditEvent.case_id).where(Case.number == number)
    with Session(ctx.engine) as session:
        return session.scalar(query) or 0


def test_bulk_remind_answers_each_case_allowed_refused_or_not_found(ctx: ServiceContext) -> None:
    a, b = handled(ctx, 2)
    waiting = registered(ctx, office_code="GS-LZ", title="尚未交办的件")  # 催办 needs a handling unit
    foreign = elsewhere(ctx)
    result = bulk.run(ctx, "remind", [a, waiting, foreign, "GS-LZ-2023-99999", b, a],
                      actor=lanzhou(ctx, "supervisor"), form={"note": "请抓紧办理"})
    assert [(o.number, o.status) for o in result.outcomes] == [
        (a, "ok"), (waiting, "refused"), (foreign, "not_found"), ("GS-LZ-2023-99999", "not_found"), (b, "ok")]
    assert result.counts() == {"ok": 2, "skipped": 0, "refused": 1, "not_found": 2}
    assert isinstance(result.outcomes[1].error, ActionNotAllowed)
    # A case out of scope reads exactly as a number nobody has.
    hidden, missing = result.outcomes[2], result.outcomes[3]
    assert isinstance(hidden.error, CaseNotFound) and isinstance(missing.error, CaseNotFound)
    assert (str(hidden.error), hidden.state) == (str(missing.error), missing.state)
    assert [events(ctx, "remind", n) for n in (a, b, waiting, foreign)] == [1, 1, 0, 0]
    assert verify(ctx).findings == []


def test_a_retried_bulk_remind_urges_no_case_twice(ctx: ServiceContext) -> None:
    numbers = handled(ctx, 3)
    actor = lanzhou(ctx, "dispatcher")
    assert bulk.run(ctx, "remind", numbers[:2], actor=actor).counts()["ok"] == 2
    again = bulk.run(ctx, "remind", numbers, actor=actor)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped", "ok"]
    assert again.outcomes[0].skipped == "bulk_already_reminded"
    assert events(ctx, "remind") == 3
    advance(ctx, days=1)  # policy [bulk] remind_once_per_days = 1: tomorrow urges again
    assert bulk.run(ctx, "remind", numbers[:1], actor=actor).counts()["ok"] == 1


def test_bulk_reassign_moves_each_case_once_and_refuses_a_bad_form_whole(ctx: ServiceContext) -> None:
    numbers = handled(ctx, 2)
    actor = lanzhou(ctx, "dispatcher")
    with pytest.raises(InvalidActionInput) as refused:
        bulk.run(ctx, "reassign", numbers, actor=actor, form={"unit": "GS-LZ-CG-SWJ"})
    assert refused.value.field == "reason"
    with pytest.raises(InvalidActionInput) as unknown:
        bulk.run(ctx, "reassign", numbers, actor=actor, form={"unit": "GS-NOPE", "reason": "改派"})
    assert unknown.value.kind == "unknown_org"
    assert events(ctx, "reassign") == 0
    form = {"unit": "GS-LZ-CG-SWJ", "reason": "职责调整"}
    assert bulk.run(ctx, "reassign", numbers, actor=actor, form=form).counts()["ok"] == 2
    again = bulk.run(ctx, "reassign", numbers, actor=actor, form=form)
    assert {o.skipped for o in again.outcomes} == {"bulk_already_assigned"}
    assert events(ctx, "reassign") == 2


def test_a_role_without_the_action_is_refused_per_case(ctx: ServiceContext) -> None:
    (number,) = handled(ctx, 1)
    result = bulk.run(ctx, "remind", [number], actor=lanzhou(ctx, "leader"))
    assert result.outcomes[0].status == "refused"
    assert isinstance(result.outcomes[0].error, PermissionDenied)


def test_a_request_over_the_policy_limit_or_empty_is_refused_before_any_case(ctx: ServiceContext) -> None:
    numbers = handled(ctx, 3)
    ctx.policy = ctx.policy.model_copy(update={"bulk": ctx.policy.bulk.model_copy(update={"max_cases": 2})})
    with pytest.raises(InvalidActionInput) as refused:
        bulk.run(ctx, "remind", numbers, actor=DISPATCHER)
    assert (refused.value.kind, refused.value.limits) == ("too_many_cases", {"le": 2})
    assert events(ctx, "remind") == 0
    repeated = [numbers[0], numbers[1], numbers[0], " "]
    assert bulk.run(ctx, "remind", repeated, actor=DISPATCHER).counts()["ok"] == 2
    with pytest.raises(InvalidActionInput):
        bulk.run(ctx, "remind", ["", " "], actor=DISPATCHER)
    with pytest.raises(InvalidActionInput) as action:
        bulk.run(ctx, "close", numbers[:1], actor=DISPATCHER)
    assert action.value.field == "action"


def verified(ctx: ServiceContext, count: int) -> list[str]:
    numbers = handled(ctx, count)
    service = CaseService(ctx)
    for number in numbers:
        service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已办结"})
        service.act(number, "approve", actor=lanzhou(ctx, "supervisor"))
    return numbers


def test_callbacks_are_assigned_to_an_officer_of_the_office_once(ctx: ServiceContext) -> None:
    numbers = verified(ctx, 2)
    sample_callbacks(ctx)  # every real-name complainant is called back: both queued
    (still,) = handled(ctx, 1, matter="另一件事")  # no callback owed
    create_user(ctx, username="huifang", password=PASSWORD, role="clerk", org_code="GS-LZ")
    create_user(ctx, username="linxia", password=PASSWORD, role="clerk", org_code="GS-LX")
    create_user(ctx, username="lingdao", password=PASSWORD, role="leader", org_code="GS-LZ")
    actor = lanzhou(ctx, "supervisor")
    result = bulk.run(ctx, "assign_callback", [*numbers, still], actor=actor, form={"assignee": "huifang"})
    assert [o.status for o in result.outcomes] == ["ok", "ok", "refused"]
    assert isinstance(result.outcomes[2].error, ActionNotAllowed)
    assert {item.assignee for item in callback_queue(ctx, actor=actor)} == {"huifang"}
    again = bulk.run(ctx, "assign_callback", numbers, actor=actor, form={"assignee": "huifang"})
    assert {o.skipped for o in again.outcomes} == {"bulk_already_callback"}
    assert events(ctx, "assign_callback") == 2
    # An officer of another office holds none of these cases: refused per case, nothing written.
    other = bulk.run(ctx, "assign_callback", numbers, actor=actor, form={"assignee": "linxia"})
    assert {type(o.error) for o in other.outcomes} == {InvalidActionInput}
    for name in ("lingdao", "nobody", ""):  # a leader records no callbacks; no such account
        with pytest.raises(InvalidActionInput) as refused:
            bulk.run(ctx, "assign_callback", numbers, actor=actor, form={"assignee": name})
        assert refused.value.field == "assignee"
    with Session(ctx.engine) as session:
        assert set(session.scalars(select(CallbackTask.assignee))) == {"huifang"}
    assert verify(ctx).findings == []  # the assignment is covered by its event


def sheets(data: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_export_gives_the_complainant_only_to_roles_with_the_right(ctx: ServiceContext) -> None:
    numbers = handled(ctx, 2, complainant_name="王小二")
    foreign = elsewhere(ctx)
    wanted = [*numbers, foreign]
    result, data = bulk.export(ctx, wanted, actor=lanzhou(ctx, "dispatcher"))
    assert [o.status for o in result.outcomes] == ["ok", "ok", "not_found"]
    book = sheets(data)
    ledger, outcomes = book.values()
    assert [row[0] for row in ledger[1:]] == numbers and foreign not in str(ledger)
    assert "王小二" in str(ledger)  # the receiving office's dispatcher may see who complained
    assert outcomes[1:] == [(numbers[0], "已完成"), (numbers[1], "已完成"), (foreign, "未找到")]
    _, redacted = bulk.export(ctx, wanted, actor=lanzhou(ctx, "supervisor"))
    ledger = next(iter(sheets(redacted).values()))
    assert [row[0] for row in ledger[1:]] == numbers and "王小二" not in str(ledger)
    assert len(ledger[0]) < len(next(iter(book.values()))[0])  # no complainant columns at all
