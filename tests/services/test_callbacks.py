"""The callback queue: sampled verified cases (all real-name ones), revisits of closed cases."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.errors import ActionNotAllowed
from duban.models import AuditEvent, CallbackTask, PressureStep
from duban.services import CaseService, ServiceContext
from duban.services.callbacks import callback_queue, complete_revisit, sample_callbacks, sampled
from tests.factories import CLERK, REPORTED, SUPERVISOR, advance, transferred, unit_actor, world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 10:00")


def callbacks_policy(ctx: ServiceContext, **changes: Any) -> None:
    ctx.policy = ctx.policy.model_copy(
        update={"callbacks": ctx.policy.callbacks.model_copy(update=changes)})


def verified(ctx: ServiceContext, **overrides: Any) -> str:
    service = CaseService(ctx)
    number = transferred(ctx, **overrides)
    service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "已办结"})
    service.act(number, "approve", actor=SUPERVISOR)
    return number


def tasks(ctx: ServiceContext) -> list[CallbackTask]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(CallbackTask).order_by(CallbackTask.id)))


def audit(ctx: ServiceContext, action: str) -> int:
    with Session(ctx.engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == action)) or 0


def test_every_real_name_complainant_is_called_back(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, ratio=0.0)
    verified(ctx, title="实名件")
    verified(ctx, title="匿名件", complainant_real_name=False)
    result = sample_callbacks(ctx)
    assert result.queued == {"callback": 1, "revisit": 0} and result.skipped == 0
    assert result.uncallable == 1  # the anonymous case: never sampled, counted apart
    (task,) = tasks(ctx)
    assert (task.kind, task.reason, task.status) == ("callback", "real_name", "open")
    assert audit(ctx, "queue_callback") == 1
    assert [item.case_number for item in callback_queue(ctx, actor=CLERK)] == ["GS-2023-00001"]


def test_sampling_is_decided_once_per_case_however_often_it_runs(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, ratio=0.5, all_real_name=False)
    for i in range(20):
        verified(ctx, title=f"第{i}件")
    first = sample_callbacks(ctx)
    assert first.considered == 20 and 0 < first.queued["callback"] < 20
    again = sample_callbacks(ctx)
    assert again.considered == 0
    assert len(tasks(ctx)) == first.queued["callback"] == audit(ctx, "queue_callback")
    # Deterministic: the recorded answer is the seeded one.
    with Session(ctx.engine) as session:
        marks = session.execute(select(PressureStep.case_id, PressureStep.episode,
                                       PressureStep.outcome)).all()
    assert {episode for _, episode, _ in marks} == {"v4"}  # triage, handling, review, callback
    for case_id, episode, outcome in marks:
        assert (outcome == "queued") == sampled("duban", "callback", case_id, episode, 0.5)


def test_two_samplers_racing_queue_each_case_once(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, ratio=1.0)
    for i in range(15):
        verified(ctx, title=f"第{i}件")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            sample_callbacks(ctx)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(tasks(ctx)) == 15 == audit(ctx, "queue_callback")


def test_an_unsatisfied_callback_sends_the_case_back_to_the_unit(ctx: ServiceContext) -> None:
    number = verified(ctx)
    sample_callbacks(ctx)
    case = CaseService(ctx).act(number, "record_callback", actor=CLERK,
                                form={"method": "phone", "result": "unsatisfied",
                                      "reason": "反映人称工程款仍未支付"})
    assert case.state == "returned" and case.deadline_kind == "handling"
    (task,) = tasks(ctx)
    assert (task.status, task.result) == ("done", "record_callback")
    assert callback_queue(ctx, actor=CLERK) == []


def test_closed_cases_are_sampled_again_for_a_revisit(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, revisit_ratio=1.0)
    number = verified(ctx)
    sample_callbacks(ctx)
    CaseService(ctx).act(number, "record_callback", actor=CLERK,
                         form={"method": "phone", "result": "satisfied", "note": "满意"})
    advance(ctx, days=89)
    assert sample_callbacks(ctx).queued["revisit"] == 0  # not yet
    advance(ctx, days=2)
    assert sample_callbacks(ctx).queued["revisit"] == 1
    assert sample_callbacks(ctx).queued["revisit"] == 0
    assert [t.kind for t in tasks(ctx)] == ["callback", "revisit"]
    case = complete_revisit(ctx, number, actor=SUPERVISOR, note="回访：问题未反弹")
    assert case.state == "closed"
    assert tasks(ctx)[1].status == "done" and audit(ctx, "revisit_satisfied") == 1
    with pytest.raises(ActionNotAllowed):
        complete_revisit(ctx, number, actor=SUPERVISOR)


def test_a_revisit_that_finds_the_problem_back_reopens_the_case(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, revisit_ratio=1.0)
    number = verified(ctx)
    CaseService(ctx).act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    advance(ctx, days=91)
    sample_callbacks(ctx)
    case = CaseService(ctx).act(number, "reopen", actor=SUPERVISOR, form={"reason": "问题反弹"})
    assert case.state == "returned"
    revisit = [t for t in tasks(ctx) if t.kind == "revisit"]
    assert [(t.status, t.result) for t in revisit] == [("done", "reopen")]


def test_a_closing_too_old_for_the_window_is_left_alone(ctx: ServiceContext) -> None:
    callbacks_policy(ctx, revisit_ratio=1.0)
    number = verified(ctx)
    CaseService(ctx).act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    advance(ctx, days=90 + 31)
    assert sample_callbacks(ctx).queued["revisit"] == 0
    assert dt.timedelta(days=121) > dt.timedelta(days=90 + 30)
