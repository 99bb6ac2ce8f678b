"""The deadline sweep: colours, the escalation ladder, progress reminders; once, however it runs."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.models import AuditEvent, Case, Interview, Notification, Org, PressureProposal, PressureStep
from duban.services import CaseService, ServiceContext
from duban.services import pressure_actions as pa
from duban.services.sweeps import run_deadline_sweep
from duban.states.definition import LADDER_ACTIONS
from tests.factories import DISPATCHER, REPORTED, registered, transferred, unit_actor, world

LADDER_AND_RAISE = {*LADDER_ACTIONS, "step_up"}


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    """The ladder's world: its units never sign for their cases, so 签收 reminders are off here
    (they have their own tests, tests/services/test_unit_part.py)."""
    ctx = world(engine, start="2023-03-01 10:00")
    ctx.policy = ctx.policy.model_copy(deep=True)
    ctx.policy.sign_for.remind_after_workdays = []
    return ctx


def at(ctx: ServiceContext, when: str) -> None:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(parse_local(when))


def events(ctx: ServiceContext, actions: set[str] = LADDER_AND_RAISE) -> Counter[tuple[int, str]]:
    with Session(ctx.engine) as session:
        rows = session.execute(select(AuditEvent.case_id, AuditEvent.action)
                               .where(AuditEvent.action.in_(actions))).all()  # type: ignore[attr-defined]
    return Counter((case_id, action) for case_id, action in rows)


def notifications(ctx: ServiceContext) -> list[Notification]:
    """The mail to orgs (the complainant's own notices are tests/notify/test_citizen_notices.py's)."""
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Notification).where(Notification.audience != "complainant")
                                    .order_by(Notification.id)))


def case_of(ctx: ServiceContext, number: str) -> Case:
    return CaseService(ctx).get(number)


def all_automatic(ctx: ServiceContext) -> ServiceContext:
    """The ladder with every step fired by the engine (the packaged policy proposes the heavy ones)."""
    ctx.policy = ctx.policy.model_copy(deep=True)
    for step in ctx.policy.ladder.steps:
        step.mode = "automatic"
    return ctx


def many_due(ctx: ServiceContext, n: int) -> list[str]:
    """n cases transferred on 2023-03-01 (5 working days: due 03-08), priority enterprise."""
    return [transferred(ctx, title=f"拖欠工程款第{i}件") for i in range(n)]


def test_the_ladder_climbs_step_by_step_on_its_working_days(ctx: ServiceContext) -> None:
    all_automatic(ctx)
    number = transferred(ctx)
    assert case_of(ctx, number).deadline_on == dt.date(2023, 3, 8)
    fired_on: dict[str, dt.date] = {}
    day = dt.date(2023, 3, 2)
    while day <= dt.date(2023, 4, 14):
        at(ctx, f"{day} 08:30")
        for step, n in run_deadline_sweep(ctx).steps.items():
            assert n == 1
            fired_on.setdefault(step, day)
        day += dt.timedelta(days=1)
    assert fired_on["remind"] == dt.date(2023, 3, 9)  # the first working day overdue
    assert fired_on["copy_notice"] == dt.date(2023, 3, 13)  # 3 working days: over a weekend
    assert fired_on["work_reminder"] == dt.date(2023, 3, 15)
    assert fired_on["interview"] == dt.date(2023, 3, 22)
    assert fired_on["public_notice"] == dt.date(2023, 3, 29)
    assert fired_on["step_up"] == dt.date(2023, 3, 30)  # one step a day: the policy's tie follows
    case = case_of(ctx, number)
    assert (case.state, case.disposition) == ("supervised", "supervise")
    # The raise kept the running deadline (policy raise_deadline "keep"), so its episode too: the
    # ladder does not start again, and the unit got no new time for being late.
    assert case.deadline_seq == 2 and case.deadline_on == dt.date(2023, 3, 8)
    assert events(ctx)[(case.id, "remind")] == 1
    assert events(ctx)[(case.id, "copy_notice")] == 1
    with Session(ctx.engine) as session:
        assert session.scalar(select(func.count()).select_from(Interview)) == 1
        episodes = set(session.scalars(select(PressureStep.episode).where(PressureStep.step == "remind")))
    assert episodes == {"h2"}


LADDER_DAYS = ("2023-03-09", "2023-03-13", "2023-03-15", "2023-03-22", "2023-03-29", "2023-03-30")


def session_events(ctx: ServiceContext, action: str) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)))


def not_sent(ctx: ServiceContext, action: str) -> list[str]:
    return [e.data.get("not_sent", "") for e in session_events(ctx, action)]


def test_each_step_queues_the_notices_it_implies(ctx: ServiceContext) -> None:
    all_automatic(ctx)
    # a county bureau with its contacts on file (the complaint is about another unit)
    transferred(ctx, unit="GS-LZ-CG-ZJJ", title="城关区水务局拖欠某建设集团工程款",
                subject_name="城关区水务局", subject_org_code="GS-LZ-CG-SWJ")
    for day in LADDER_DAYS:
        at(ctx, f"{day} 08:30")
        run_deadline_sweep(ctx)
    sent = [(n.kind, n.audience, n.to_address) for n in notifications(ctx)]
    assert sent == [
        ("remind", "unit", "gs-lz-cg-zjj@duban.example"),
        # the county government's leader in charge of housing (同级政府分管领导)
        ("copy_notice", "government", "gs-lz-cg-gov.fg-zjj@duban.example"),
        ("work_reminder", "unit_head", "gs-lz-cg-zjj.head@duban.example"),  # 主要负责同志
        ("interview_office", "office", "gs@duban.example"),  # the office that received the case
        ("interview_unit", "unit_head", "gs-lz-cg-zjj.head@duban.example"),
        ("public_notice", "unit", "gs-lz-cg-zjj@duban.example"),
        ("public_notice", "government", "gs-lz-cg-gov.head@duban.example"),
        ("step_up", "unit", "gs-lz-cg-zjj@duban.example"),
    ]
    first = notifications(ctx)[0]
    assert first.subject.startswith("【催办】GS-2023-00001")
    assert "已超期1个工作日" in first.body and first.status == "pending"
    copy = notifications(ctx)[1]
    assert copy.body.startswith("城关区人民政府负责同志") and "城关区住建局" in copy.body
    assert not_sent(ctx, "copy_notice") == [""] and not_sent(ctx, "work_reminder") == [""]


def test_a_provincial_departments_copy_notice_goes_to_the_province_leader_in_charge_of_it(
        ctx: ServiceContext) -> None:
    transferred(ctx, unit="GS-FGW", title="省级项目审批久拖不办", subject_name="省级项目",
                subject_org_code=None)
    for day in LADDER_DAYS[:3]:
        at(ctx, f"{day} 08:30")
        run_deadline_sweep(ctx)
    sent = [(n.kind, n.audience, n.to_address) for n in notifications(ctx)]
    assert sent == [("remind", "unit", "gs-fgw@duban.example"),
                    ("copy_notice", "government", "gs-gov.fg-fgw@duban.example"),
                    ("work_reminder", "unit_head", "gs-fgw.head@duban.example")]
    with Session(ctx.engine) as session:
        copy = session.scalars(select(Notification).where(Notification.kind == "copy_notice")).one()
        assert session.get(Org, copy.org_id).code == "GS-GOV"  # written to the province government
    assert "测试反映人" not in copy.body  # a government leader never reads the complainant


def test_a_government_units_copy_notice_and_work_reminder_go_to_two_people_not_its_mailbox(
        ctx: ServiceContext) -> None:
    transferred(ctx, unit="GS-LZ-CG-GOV")
    for day in LADDER_DAYS[:3]:
        at(ctx, f"{day} 08:30")
        run_deadline_sweep(ctx)
    sent = [(n.kind, n.to_address) for n in notifications(ctx)]
    assert sent == [("remind", "gs-lz-cg-gov@duban.example"),
                    ("copy_notice", "gs-lz-cg-gov.deputy@duban.example"),
                    ("work_reminder", "gs-lz-cg-gov.head@duban.example")]


def test_a_unit_without_contacts_gets_no_second_mail_and_the_step_says_why(ctx: ServiceContext) -> None:
    transferred(ctx, unit="GS-LZ-CG-SWJ")  # no leader, no head on file
    for day in LADDER_DAYS[:3]:
        at(ctx, f"{day} 08:30")
        assert sum(run_deadline_sweep(ctx).steps.values()) == 1  # the step itself is taken
    sent = [(n.kind, n.to_address) for n in notifications(ctx)]
    assert sent == [("remind", "gs-lz-cg-swj@duban.example")]
    assert not_sent(ctx, "copy_notice") == ["通讯录中没有城关区水务局的同级政府分管领导，未发送"]
    assert not_sent(ctx, "work_reminder") == ["通讯录中没有城关区水务局的主要负责同志，未发送"]


def test_a_contact_that_is_the_units_own_address_is_not_written_to_twice(ctx: ServiceContext) -> None:
    with Session(ctx.engine) as session:
        unit = session.scalars(select(Org).where(Org.code == "GS-LZ-CG-SWJ")).one()
        unit.leader_email = unit.head_email = unit.email
        session.add(unit)
        session.commit()
    transferred(ctx, unit="GS-LZ-CG-SWJ")
    for day in LADDER_DAYS[:3]:
        at(ctx, f"{day} 08:30")
        run_deadline_sweep(ctx)
    assert [n.kind for n in notifications(ctx)] == ["remind"]
    assert not_sent(ctx, "copy_notice") == ["城关区水务局的同级政府分管领导与已发往的地址相同，不重复发送"]
    assert not_sent(ctx, "work_reminder") == ["城关区水务局的主要负责同志与已发往的地址相同，不重复发送"]


def test_unit_mail_never_names_the_complainant_unless_they_agreed(ctx: ServiceContext) -> None:
    all_automatic(ctx)
    # The clerk wrote the name and phone into the title: it still must not reach the unit.
    transferred(ctx, title="测试反映人（19900123456）反映拖欠工程款")
    transferred(ctx, title="同意公开的反映人王五反映拖欠工程款", complainant_name="王五",
                complainant_phone="13800001111", complainant_consent=True)
    for day in ("2023-03-09", "2023-03-13", "2023-03-22"):
        at(ctx, f"{day} 08:30")
        run_deadline_sweep(ctx)
    by_case: dict[int | None, list[Notification]] = {}
    for note in notifications(ctx):
        by_case.setdefault(note.case_id, []).append(note)
    hidden, consented = by_case[1], by_case[2]
    for note in hidden:
        text = note.subject + note.body
        if note.audience == "office":
            continue  # the office's own staff may see who complained
        assert "测试反映人" not in text and "19900123456" not in text, note.kind
        assert "（保密）" in text
    unit_mail = [n for n in consented if n.audience == "unit"]
    assert unit_mail and all("王五" in n.body for n in unit_mail)
    government_mail = [n for n in consented if n.audience == "government"]
    assert government_mail and all("王五" not in n.subject + n.body for n in government_mail)
    office_mail = [n for n in hidden if n.audience == "office"]
    assert office_mail and "测试反映人" in office_mail[0].body


def test_a_second_sweep_the_same_day_does_nothing(ctx: ServiceContext) -> None:
    many_due(ctx, 5)
    at(ctx, "2023-03-09 08:30")
    first = run_deadline_sweep(ctx)
    assert first.steps == {"remind": 5}
    again = run_deadline_sweep(ctx)
    assert again.visited == 0 and not again.steps
    assert len(notifications(ctx)) == 5


def test_nothing_due_costs_no_visit(ctx: ServiceContext) -> None:
    many_due(ctx, 3)
    at(ctx, "2023-03-06 08:30")  # blue not yet, yellow not yet
    result = run_deadline_sweep(ctx)
    assert result.visited == 0


def test_colours_are_stored_for_dashboards_without_audit_events(ctx: ServiceContext) -> None:
    numbers = many_due(ctx, 4)
    with Session(ctx.engine) as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    at(ctx, "2023-03-08 08:30")
    result = run_deadline_sweep(ctx)
    assert result.recoloured == 4 and not result.steps
    with Session(ctx.engine) as session:
        counts = dict(session.execute(select(Case.warning, func.count()).group_by(Case.warning)).all())
        after = session.scalar(select(func.count()).select_from(AuditEvent))
    assert counts == {"yellow": 4}
    assert after == before  # a colour change is not an action
    # An action recolours at once: an extension approved moves the deadline away.
    service = CaseService(ctx)
    service.act(numbers[0], "request_extension", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={"days": 20, "reason": "涉及多个部门协调"})
    case = service.act(numbers[0], "approve_extension", actor=DISPATCHER)
    assert case.warning == "none" and case.sweep_due_on is not None
    assert case.sweep_due_on > dt.date(2023, 3, 8)


def test_an_extension_keeps_the_episode_so_steps_already_fired_stay_fired(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    at(ctx, "2023-03-09 08:30")
    assert run_deadline_sweep(ctx).steps == {"remind": 1}
    service = CaseService(ctx)
    service.act(number, "request_extension", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={"days": 8, "reason": "需要协调资金"})  # working days (policy [extension] unit)
    case = service.act(number, "approve_extension", actor=DISPATCHER)
    assert case.deadline_on == dt.date(2023, 3, 20) and case.deadline_seq == 2
    at(ctx, "2023-03-21 08:30")  # overdue again: the reminder already went out this episode
    assert not run_deadline_sweep(ctx).steps
    at(ctx, "2023-03-23 08:30")  # the ladder goes on from the new deadline
    assert run_deadline_sweep(ctx).steps == {"copy_notice": 1}
    assert events(ctx)[(case.id, "remind")] == 1


def test_two_sweeps_racing_fire_each_step_and_write_each_email_once(ctx: ServiceContext) -> None:
    many_due(ctx, 40)
    at(ctx, "2023-03-22 08:30")  # interview reached (proposed): remind, copy_notice, work_reminder passed
    barrier = threading.Barrier(2)
    results = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(run_deadline_sweep(ctx, chunk_size=7))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    fired = events(ctx, LADDER_AND_RAISE | {"propose_pressure"})
    assert len(fired) == 40 and set(fired.values()) == {1}  # one proposal per case, nothing fired
    assert sum((r.steps for r in results), Counter()) == Counter()
    assert sum((r.proposed for r in results), Counter()) == Counter({"interview": 40})
    assert sum((r.skipped for r in results), Counter()) == Counter(
        {"remind": 40, "copy_notice": 40, "work_reminder": 40})
    with Session(ctx.engine) as session:
        proposals = session.execute(select(PressureProposal.case_id, PressureProposal.action)).all()
        outcomes = Counter(session.scalars(select(PressureStep.outcome)))
    assert sorted(proposals) == [(i, "interview") for i in range(1, 41)]
    assert outcomes == {"proposed": 40, "skipped": 120}
    assert notifications(ctx) == []


def test_a_sweep_killed_after_its_first_chunk_resumes_without_doubles(ctx: ServiceContext) -> None:
    many_due(ctx, 10)
    at(ctx, "2023-03-09 08:30")

    def crash(chunks_done: int) -> None:
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        run_deadline_sweep(ctx, chunk_size=4, after_chunk=crash)
    assert len(events(ctx)) == 4  # the first chunk committed
    resumed = run_deadline_sweep(ctx, chunk_size=4)
    assert resumed.steps == {"remind": 6}
    fired = events(ctx)
    assert len(fired) == 10 and set(fired.values()) == {1}
    assert len(notifications(ctx)) == 10


def test_a_case_the_engine_cannot_act_on_does_not_stall_the_others(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = many_due(ctx, 5)
    bad = case_of(ctx, numbers[2]).id
    real = pa.remind

    def remind(step) -> None:  # type: ignore[no-untyped-def]
        if step.case.id == bad:
            raise RuntimeError("template server on fire")
        real(step)

    monkeypatch.setitem(pa.PRESSURE_HANDLERS, "remind", remind)
    from duban.services import handlers

    monkeypatch.setitem(handlers.HANDLERS, "remind", remind)
    at(ctx, "2023-03-09 08:30")
    result = run_deadline_sweep(ctx)
    assert result.steps == {"remind": 4}
    assert [case_id for case_id, _ in result.failed] == [bad]
    assert case_of(ctx, numbers[2]).sweep_due_on == dt.date(2023, 3, 10)  # looked at tomorrow
    monkeypatch.setitem(handlers.HANDLERS, "remind", real)
    at(ctx, "2023-03-10 08:30")
    assert run_deadline_sweep(ctx).steps == {"remind": 1}


def test_key_supervised_cases_owe_a_progress_report_every_half_month(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    number = registered(ctx, priority="normal")  # key-supervised: 60 days to solve it
    case = service.act(number, "key_supervise", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    assert case.state == "key_supervised"
    assert case.progress_due_on == dt.date(2023, 3, 16)  # 15 days (半月), a working day
    at(ctx, "2023-03-16 08:30")
    assert run_deadline_sweep(ctx).steps == {"remind_progress+0": 1}
    at(ctx, "2023-03-20 08:30")  # two working days later, still nothing
    assert run_deadline_sweep(ctx).steps == {"remind_progress+2": 1}
    at(ctx, "2023-03-21 10:00")
    case = service.act(number, "report_progress", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                       form={"text": "已制定整改方案"})
    assert case.progress_due_on == dt.date(2023, 4, 6)  # the next period starts with the report
    at(ctx, "2023-04-06 08:30")
    assert run_deadline_sweep(ctx).steps == {"remind_progress+0": 1}
    kinds = [n.kind for n in notifications(ctx) if n.kind == "remind_progress"]
    assert len(kinds) == 3


def test_a_report_submitted_stops_the_ladder(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    at(ctx, "2023-03-09 08:30")
    run_deadline_sweep(ctx)
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "已办结"})
    at(ctx, "2023-04-28 08:30")
    assert not (set(run_deadline_sweep(ctx).steps) & LADDER_AND_RAISE)


def test_a_case_many_working_days_late_gets_one_step_then_the_next_ones_one_at_a_time(
        ctx: ServiceContext) -> None:
    all_automatic(ctx)
    # First start on old data: the case has been overdue seven working days (due 03-08).
    transferred(ctx, unit="GS-LZ-CG-ZJJ", title="城关区水务局拖欠某建设集团工程款",
                subject_name="城关区水务局", subject_org_code="GS-LZ-CG-SWJ")
    at(ctx, "2023-03-17 08:30")
    first = run_deadline_sweep(ctx)
    assert first.steps == {"work_reminder": 1}  # the step the case has reached
    assert first.skipped == {"remind": 1, "copy_notice": 1}
    assert [(n.kind, n.to_address) for n in notifications(ctx)] == [
        ("work_reminder", "gs-lz-cg-zjj.head@duban.example")]
    with Session(ctx.engine) as session:
        recorded = {s.step: s.outcome for s in session.scalars(select(PressureStep))}
    assert recorded == {"remind": "skipped", "copy_notice": "skipped", "work_reminder": "done"}
    assert events(ctx, {"remind", "copy_notice"}) == Counter()  # skipped: no action, no event

    again = run_deadline_sweep(ctx)
    assert not again.steps and not again.skipped and len(notifications(ctx)) == 1

    fired: list[tuple[str, dt.date]] = []
    day = dt.date(2023, 3, 18)
    while day <= dt.date(2023, 4, 20):
        at(ctx, f"{day} 08:30")
        result = run_deadline_sweep(ctx)
        assert not result.skipped and sum(result.steps.values()) <= 1
        fired += [(step, day) for step in result.steps]
        day += dt.timedelta(days=1)
    cal = ctx.calendar_for("GS-LZ-CG-ZJJ")
    interview_on = cal.add_workdays(dt.date(2023, 3, 17), 5).date  # 10 - 5: from the catch-up day
    public_notice_on = cal.add_workdays(interview_on, 5).date
    assert fired[:3] == [("interview", interview_on), ("public_notice", public_notice_on),
                         ("step_up", cal.add_workdays(public_notice_on, 1).date)]
    assert {step for step, _ in fired[3:]} <= {"remind", "copy_notice", "work_reminder"}  # new limit


def test_a_raise_never_takes_a_late_case_off_the_overdue_count(ctx: ServiceContext) -> None:
    all_automatic(ctx)
    from duban.reports.board import build_board
    from duban.services.dashboard import dashboard
    from duban.services.queries import CaseFilter
    from duban.services.reading import list_cases
    from tests.factories import LEADER

    number = transferred(ctx)  # due 03-08
    on_time = transferred(ctx, title="另一件")
    CaseService(ctx).act(on_time, "request_extension", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={"days": 21, "reason": "需协调多部门"})  # 21 working days: to 04-07
    CaseService(ctx).act(on_time, "approve_extension", actor=DISPATCHER, form={"note": "同意"})

    def overdue() -> tuple[int, list[str], list[str], str]:
        board = dashboard(ctx, LEADER)
        listed = [r.number for r in list_cases(ctx, CaseFilter(overdue=True, open_only=True),
                                               actor=LEADER)]
        reds = [c["number"] for c in build_board(ctx, "GS").red_cases]
        return board.overdue_count, listed, reds, case_of(ctx, number).warning

    at(ctx, "2023-03-29 08:30")
    run_deadline_sweep(ctx)  # 通报 (public_notice) reached
    assert overdue() == (1, [number], [number], "red")
    at(ctx, "2023-03-30 08:30")
    assert run_deadline_sweep(ctx).steps == {"step_up": 1}
    case = case_of(ctx, number)
    # The raise keeps the running deadline (policy raise_deadline "keep"); the missed one is on
    # the record too, for a raise or 提级直办 that does start a new limit.
    assert case.disposition == "supervise" and case.deadline_on == dt.date(2023, 3, 8)
    assert case.missed_deadline_on == dt.date(2023, 3, 8)
    assert overdue() == (1, [number], [number], "red")  # the raise hides nothing
    at(ctx, "2023-04-03 10:00")
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "已办结"})
    assert case_of(ctx, number).missed_deadline_on is None  # handled: no longer counted overdue
    assert overdue()[:3] == (0, [], [])
    reported = [e.data for e in session_events(ctx, "submit_report")]
    assert reported == [{"finding": "true", "report_kind": "final", "due_on": "2023-03-08", "late": True}]


def test_a_returned_key_supervised_case_keeps_its_half_monthly_progress_reports(
        ctx: ServiceContext) -> None:
    from duban.errors import ActionNotAllowed
    from tests.factories import SUPERVISOR, registered

    service = CaseService(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    number = registered(ctx, priority="normal")
    service.act(number, "key_supervise", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    at(ctx, "2023-03-06 10:00")
    assert service.act(number, "submit_report", actor=unit,
                       form={**REPORTED, "text": "已办结"}).progress_due_on is None
    at(ctx, "2023-03-07 10:00")
    case = service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "整改不到位"})
    assert (case.state, case.disposition) == ("returned", "key_supervise")
    assert case.progress_due_on == dt.date(2023, 3, 22)  # half a month from the return
    at(ctx, "2023-03-22 08:30")
    assert run_deadline_sweep(ctx).steps == {"remind_progress+0": 1}
    at(ctx, "2023-03-23 10:00")
    case = service.act(number, "report_progress", actor=unit, form={"text": "已重新制定整改方案"})
    assert case.state == "returned" and case.progress_due_on == dt.date(2023, 4, 7)
    # A returned case under another disposition owes no progress report.
    other = transferred(ctx, title="另一件")
    service.act(other, "submit_report", actor=unit, form={**REPORTED, "text": "已办结"})
    returned = service.act(other, "send_back", actor=SUPERVISOR, form={"reasons": "不清楚"})
    assert returned.progress_due_on is None
    with pytest.raises(ActionNotAllowed):
        service.act(other, "report_progress", actor=unit, form={"text": "进展"})
