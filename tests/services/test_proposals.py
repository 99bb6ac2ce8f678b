"""Pressure proposed by the engine and decided by people: proposals, decisions, interviews held,
and a raised disposition that never gives a late unit more time."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, local_date, parse_local
from duban.config.policy import load_policy
from duban.errors import ActionNotAllowed, InvalidActionInput, ItemNotFound, PermissionDenied
from duban.models import AuditEvent, Interview, Notification, PressureProposal, PressureStep
from duban.services import Actor, CaseService, ServiceContext
from duban.services.integrity import verify
from duban.services.proposals import (
    decide,
    interviews_to_hold,
    open_proposal_count,
    proposal_queue,
    record_interview_held,
)
from duban.services.sweeps import run_deadline_sweep
from tests.factories import (
    CLERK,
    DISPATCHER,
    LEADER,
    REPORTED,
    SUPERVISOR,
    org_id,
    transferred,
    unit_actor,
    world,
)


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    """The ladder's world: its units never sign for their cases, so 签收 reminders are off here."""
    ctx = world(engine, start="2023-03-01 10:00")
    ctx.policy = ctx.policy.model_copy(deep=True)
    ctx.policy.sign_for.remind_after_workdays = []
    return ctx


def at(ctx: ServiceContext, when: str) -> None:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(parse_local(when))


def sweep_until(ctx: ServiceContext, last: str) -> Counter[str]:
    """Sweep every morning from the day after the clock's day to `last`; what was proposed."""
    proposed: Counter[str] = Counter()
    day = local_date(ctx.now()) + dt.timedelta(days=1)
    while day <= dt.date.fromisoformat(last):
        at(ctx, f"{day} 08:30")
        proposed.update(run_deadline_sweep(ctx).proposed)
        day += dt.timedelta(days=1)
    return proposed


def proposals(ctx: ServiceContext) -> list[PressureProposal]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(PressureProposal).order_by(PressureProposal.id)))


def events(ctx: ServiceContext, case_id: int) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                    .order_by(AuditEvent.seq)))


def kinds(ctx: ServiceContext) -> Counter[str]:
    with Session(ctx.engine) as session:
        to_orgs = select(Notification.kind).where(Notification.audience != "complainant")
        return Counter(session.scalars(to_orgs))


def interviews(ctx: ServiceContext) -> list[Interview]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Interview).order_by(Interview.id)))


def office_actor(ctx: ServiceContext, role: str, code: str) -> Actor:
    return Actor(f"{code}{role}", role, org_id(ctx, code))


def proposal_of(ctx: ServiceContext, action: str) -> PressureProposal:
    return next(p for p in proposals(ctx) if p.action == action)


# -- proposing ---------------------------------------------------------------------------------

def test_a_due_interview_is_proposed_not_fired_and_only_once(ctx: ServiceContext) -> None:
    number = transferred(ctx)  # enterprise: due 2023-03-08; 约谈 10 working days later
    assert sweep_until(ctx, "2023-03-22") == {"interview": 1}
    assert run_deadline_sweep(ctx).visited == 0  # again the same morning: nothing
    case = CaseService(ctx).get(number)
    (proposal,) = proposals(ctx)
    assert (proposal.case_id, proposal.action, proposal.status, proposal.episode) == (
        case.id, "interview", "open", f"h{case.deadline_seq}")
    assert interviews(ctx) == [] and "interview_office" not in kinds(ctx)
    assert kinds(ctx) == {"remind": 1, "copy_notice": 1, "work_reminder": 1}
    with Session(ctx.engine) as session:
        outcome = session.scalar(select(PressureStep.outcome).where(PressureStep.step == "interview"))
    assert outcome == "proposed"
    assert [e.action for e in events(ctx, case.id)][-1] == "propose_pressure"
    assert sweep_until(ctx, "2023-04-14") == {"public_notice": 1, "step_up": 1}
    assert len(proposals(ctx)) == 3
    assert verify(ctx).findings == []


def test_a_sweep_killed_halfway_proposes_nothing_twice(ctx: ServiceContext) -> None:
    for i in range(9):
        transferred(ctx, title=f"拖欠工程款第{i}件")
    at(ctx, "2023-03-22 08:30")

    def crash(chunks_done: int) -> None:
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        run_deadline_sweep(ctx, chunk_size=4, after_chunk=crash)
    assert len(proposals(ctx)) == 4
    assert run_deadline_sweep(ctx, chunk_size=4).proposed == {"interview": 5}
    assert run_deadline_sweep(ctx, chunk_size=4).proposed == {}
    assert sorted(p.case_id for p in proposals(ctx)) == list(range(1, 10))


def test_a_policy_override_file_sets_the_modes(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text('''
[ladder]
raise_deadline = "shorter"

[[ladder.steps]]
action = "remind"
after_workdays = 1

[[ladder.steps]]
action = "interview"
after_workdays = 10
mode = "automatic"

[[ladder.steps]]
action = "public_notice"
after_workdays = 15
mode = "propose"
''', encoding="utf-8")
    policy = load_policy(tmp_path)
    assert [(s.action, s.mode) for s in policy.ladder.steps] == [
        ("remind", "automatic"), ("interview", "automatic"), ("public_notice", "propose")]
    assert policy.ladder.raise_deadline == "shorter"
    packaged = load_policy()
    assert {s.action: s.mode for s in packaged.ladder.steps} == {
        "remind": "automatic", "copy_notice": "automatic", "work_reminder": "automatic",
        "interview": "propose", "public_notice": "propose", "step_up": "propose"}
    assert all(s.source for s in packaged.ladder.steps) and packaged.ladder.raise_deadline_source


def test_an_automatic_interview_still_fires_by_itself(ctx: ServiceContext) -> None:
    ctx.policy = ctx.policy.model_copy(deep=True)
    next(s for s in ctx.policy.ladder.steps if s.action == "interview").mode = "automatic"
    transferred(ctx)
    assert sweep_until(ctx, "2023-03-22") == {}
    assert len(interviews(ctx)) == 1 and proposals(ctx) == []


# -- deciding ----------------------------------------------------------------------------------

def test_a_supervisor_confirms_and_the_interview_fires_as_them(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    sweep_until(ctx, "2023-03-22")
    proposal = proposal_of(ctx, "interview")
    at(ctx, "2023-03-22 15:00")
    decided = decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="confirm")
    assert (decided.status, decided.taken_action, decided.decided_by) == (
        "confirmed", "interview", SUPERVISOR.name)
    last = events(ctx, CaseService(ctx).get(number).id or 0)[-1]
    assert (last.action, last.actor, last.actor_role) == ("interview", SUPERVISOR.name, "supervisor")
    assert last.data["proposal"] == proposal.id and last.data["decision"] == "confirm"
    assert len(interviews(ctx)) == 1
    assert kinds(ctx)["interview_office"] == 1 and kinds(ctx)["interview_unit"] == 1
    assert proposal_queue(ctx, actor=SUPERVISOR) == ([], 0)
    with pytest.raises(ActionNotAllowed):
        decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="dismiss", reason="再议")
    assert verify(ctx).findings == []


def test_a_leader_who_reads_only_may_still_decide_pressure(ctx: ServiceContext) -> None:
    transferred(ctx)
    sweep_until(ctx, "2023-03-29")
    notice = proposal_of(ctx, "public_notice")
    decide(ctx, notice.id or 0, actor=LEADER, decision="confirm", reason="予以通报")
    assert kinds(ctx)["public_notice"] == 2  # the unit and the government
    with pytest.raises(PermissionDenied):  # deciding is not a licence for other actions
        CaseService(ctx).act(1, "public_notice", actor=LEADER)


def test_change_takes_another_ladder_action_with_a_reason(ctx: ServiceContext) -> None:
    transferred(ctx)
    sweep_until(ctx, "2023-03-29")
    notice = proposal_of(ctx, "public_notice")
    with pytest.raises(InvalidActionInput) as missing:
        decide(ctx, notice.id or 0, actor=SUPERVISOR, decision="change", action="interview")
    assert missing.value.field == "reason"
    with pytest.raises(InvalidActionInput) as unknown:
        decide(ctx, notice.id or 0, actor=SUPERVISOR, decision="change", action="close", reason="x")
    assert unknown.value.field == "action"
    with pytest.raises(InvalidActionInput) as same:
        decide(ctx, notice.id or 0, actor=SUPERVISOR, decision="change", action="public_notice", reason="x")
    assert same.value.field == "action"
    decided = decide(ctx, notice.id or 0, actor=SUPERVISOR, decision="change", action="copy_notice",
                     reason="单位已作说明，先抄告分管领导")
    assert (decided.status, decided.taken_action) == ("changed", "copy_notice")
    assert kinds(ctx)["public_notice"] == 0 and kinds(ctx)["copy_notice"] == 2
    last = events(ctx, notice.case_id)[-1]
    assert (last.action, last.reason) == ("copy_notice", "单位已作说明，先抄告分管领导")
    assert last.data["proposed"] == "public_notice"


def test_dismissing_needs_a_reason_fires_nothing_and_keeps_the_name_out_of_the_twin(
        ctx: ServiceContext) -> None:
    transferred(ctx)
    sweep_until(ctx, "2023-03-22")
    proposal = proposal_of(ctx, "interview")
    with pytest.raises(InvalidActionInput):
        decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="dismiss", reason="  ")
    with pytest.raises(InvalidActionInput) as bad:
        decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="forget", reason="x")
    assert bad.value.field == "decision"
    decided = decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="dismiss",
                     reason="测试反映人来电说明单位已在办理")
    assert decided.status == "dismissed" and decided.taken_action == ""
    assert "测试反映人" not in decided.reason_redacted and "（保密）" in decided.reason_redacted
    assert interviews(ctx) == [] and kinds(ctx)["interview_office"] == 0
    last = events(ctx, proposal.case_id)[-1]
    assert (last.action, last.actor) == ("dismiss_pressure", SUPERVISOR.name)
    assert "测试反映人" not in last.reason_redacted
    # The ladder goes on: the next step is proposed when it falls due.
    # (通报 and 升级督办 share a day in the policy; one step a sweep: 升级督办 the working day after)
    assert sweep_until(ctx, "2023-03-30") == {"public_notice": 1, "step_up": 1}
    assert verify(ctx).findings == []


def test_a_proposal_the_case_has_outgrown_stays_open_when_confirming_fails(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    sweep_until(ctx, "2023-03-22")
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "已办结"})
    proposal = proposal_of(ctx, "interview")
    with pytest.raises(ActionNotAllowed):
        decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="confirm")
    assert proposal_of(ctx, "interview").status == "open"
    decide(ctx, proposal.id or 0, actor=SUPERVISOR, decision="dismiss", reason="已报送办理报告")
    assert proposal_of(ctx, "interview").status == "dismissed"


# -- who decides what --------------------------------------------------------------------------

def test_the_queue_lists_open_proposals_in_scope_with_a_count(ctx: ServiceContext) -> None:
    transferred(ctx, title="省办受理的件")  # received by the province, handled in 城关区
    transferred(ctx, title="兰州市办受理的件", office_code="GS-LZ", unit="GS-LZ-ZJJ")
    sweep_until(ctx, "2023-03-22")
    everyone, count = proposal_queue(ctx, actor=SUPERVISOR)
    assert count == 2 and [i.action for i in everyone] == ["interview", "interview"]
    assert everyone[0].overdue_workdays == 10 and everyone[0].unit == "城关区人民政府"
    city = office_actor(ctx, "supervisor", "GS-LZ")
    mine, count = proposal_queue(ctx, actor=city)
    assert count == 1 and mine[0].title == "兰州市办受理的件"
    assert open_proposal_count(ctx, actor=city) == 1
    assert proposal_queue(ctx, actor=SUPERVISOR, limit=1)[1] == 2
    elsewhere = office_actor(ctx, "supervisor", "GS-LX")
    assert proposal_queue(ctx, actor=elsewhere) == ([], 0)
    with pytest.raises(ItemNotFound):  # out of scope is "not found", as a proposal that never was
        decide(ctx, everyone[0].id, actor=elsewhere, decision="confirm")
    with pytest.raises(ItemNotFound):
        decide(ctx, 999, actor=SUPERVISOR, decision="confirm")
    county = office_actor(ctx, "supervisor", "GS-LZ-CG")  # the province's case is not the county's
    with pytest.raises(ItemNotFound):
        decide(ctx, everyone[0].id, actor=county, decision="dismiss", reason="x")
    for outsider in (CLERK, DISPATCHER, unit_actor(ctx, "GS-LZ-CG-GOV")):
        with pytest.raises(PermissionDenied):
            proposal_queue(ctx, actor=outsider)
        with pytest.raises(PermissionDenied):
            decide(ctx, everyone[0].id, actor=outsider, decision="confirm")
        assert open_proposal_count(ctx, actor=outsider) is None
    assert [p.status for p in proposals(ctx)] == ["open", "open"]


# -- interviews held ---------------------------------------------------------------------------

def test_the_office_records_an_interview_as_held_with_its_minutes(ctx: ServiceContext) -> None:
    transferred(ctx)
    sweep_until(ctx, "2023-03-22")
    decide(ctx, proposal_of(ctx, "interview").id or 0, actor=SUPERVISOR, decision="confirm")
    items, count = interviews_to_hold(ctx, actor=DISPATCHER)
    assert count == 1 and items[0].unit == "城关区人民政府" and items[0].office == "省办"
    interview_id = items[0].id
    at(ctx, "2023-03-27 16:00")
    with pytest.raises(InvalidActionInput) as future:
        record_interview_held(ctx, interview_id, actor=DISPATCHER, held_on=dt.date(2023, 3, 28),
                              minutes="约谈")
    assert future.value.field == "held_on"
    with pytest.raises(InvalidActionInput) as before:
        record_interview_held(ctx, interview_id, actor=DISPATCHER, held_on=dt.date(2023, 3, 21),
                              minutes="约谈")
    assert before.value.field == "held_on"
    with pytest.raises(InvalidActionInput) as empty:
        record_interview_held(ctx, interview_id, actor=DISPATCHER, held_on=dt.date(2023, 3, 24), minutes="")
    assert empty.value.field == "minutes"
    with pytest.raises(ItemNotFound):
        record_interview_held(ctx, interview_id, actor=office_actor(ctx, "dispatcher", "GS-LX"),
                              held_on=dt.date(2023, 3, 24), minutes="约谈")
    with pytest.raises(PermissionDenied):
        record_interview_held(ctx, interview_id, actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                              held_on=dt.date(2023, 3, 24), minutes="约谈")
    held = record_interview_held(ctx, interview_id, actor=DISPATCHER, held_on=dt.date(2023, 3, 24),
                                 minutes="约谈区政府分管负责同志；测试反映人（19900123456）所涉欠款限月底前结清")
    assert held.status == "held" and local_date(held.held_at or ctx.now()) == dt.date(2023, 3, 24)
    assert "19900123456" not in held.note_redacted and "测试反映人" not in held.note_redacted
    assert interviews_to_hold(ctx, actor=DISPATCHER) == ([], 0)
    last = events(ctx, held.case_id)[-1]
    assert (last.action, last.actor, last.data["held_on"]) == (
        "hold_interview", DISPATCHER.name, "2023-03-24")
    with pytest.raises(ActionNotAllowed):
        record_interview_held(ctx, interview_id, actor=DISPATCHER, held_on=dt.date(2023, 3, 24),
                              minutes="再记")
    assert verify(ctx).findings == []


# -- raising never buys time -------------------------------------------------------------------

def test_a_late_transfer_raised_keeps_its_running_deadline(ctx: ServiceContext) -> None:
    number = transferred(ctx, priority="normal")  # 15 working days: due 2023-03-22
    service = CaseService(ctx)
    due = service.get(number).deadline_on
    assert due == dt.date(2023, 3, 22)
    at(ctx, "2023-04-10 10:00")  # late
    case = service.act(number, "step_up", actor=DISPATCHER, form={"reason": "超期未办"})
    assert (case.disposition, case.deadline_on) == ("supervise", due)
    case = service.act(number, "step_up", actor=DISPATCHER, form={"reason": "仍未办结"})
    assert (case.disposition, case.deadline_on) == ("key_supervise", due)  # not 60 more days


def test_shorter_takes_the_earlier_of_the_running_deadline_and_the_raised_limit(
        ctx: ServiceContext) -> None:
    ctx.policy = ctx.policy.model_copy(deep=True)
    ctx.policy.ladder.raise_deadline = "shorter"
    service = CaseService(ctx)
    late = transferred(ctx, priority="normal", title="超期件")  # due 2023-03-22
    early = transferred(ctx, priority="normal", title="未超期件")
    at(ctx, "2023-04-10 10:00")  # supervise from today would end 2023-04-24: later, so kept
    case = service.act(late, "step_up", actor=DISPATCHER, form={"reason": "超期未办"})
    assert (case.disposition, case.deadline_on) == ("supervise", dt.date(2023, 3, 22))
    ctx.clock.set(parse_local("2023-03-02 10:00"))  # type: ignore[attr-defined]
    case = service.act(early, "step_up", actor=DISPATCHER, form={"reason": "情况紧急"})
    assert (case.disposition, case.deadline_on) == ("supervise", dt.date(2023, 3, 16))  # 10 working days


def test_a_confirmed_step_up_raises_the_disposition_and_not_the_deadline(ctx: ServiceContext) -> None:
    number = transferred(ctx)  # enterprise: due 2023-03-08
    sweep_until(ctx, "2023-03-30")  # 升级督办 proposed the working day after 通报
    step_up = proposal_of(ctx, "step_up")
    case = CaseService(ctx).get(number)
    assert case.disposition == "transfer"  # nothing raised until someone decides
    decide(ctx, step_up.id or 0, actor=SUPERVISOR, decision="confirm")
    case = CaseService(ctx).get(number)
    assert (case.state, case.disposition, case.deadline_on) == (
        "supervised", "supervise", dt.date(2023, 3, 8))
    last = events(ctx, case.id or 0)[-1]
    assert (last.action, last.actor, last.reason) == (
        "step_up", SUPERVISOR.name, ctx.labels.text["ladder_step_up"])
    # The same episode goes on: no second round of reminders, and no new proposals for it.
    assert sweep_until(ctx, "2023-05-05") == {}
    with Session(ctx.engine) as session:
        assert session.scalar(select(func.count()).select_from(PressureStep)
                              .where(PressureStep.step == "remind")) == 1
