"""The demo reaches seed 000's figures through the service layer, and says so in its register."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from duban.clock import SimulatedClock, local_date, parse_local
from duban.demo.build import demo_policy, figures
from duban.demo.status import status_paragraph
from duban.demo.texts import CATEGORY_UNITS, MISCONDUCT
from duban.models import AuditEvent, Case, HandlingReport, Org, PressureStep, Subject
from duban.services import ServiceContext
from duban.services.sweeps import run_deadline_sweep
from duban.states.definition import HANDLING_STATES

HANDLING = {s.value for s in HANDLING_STATES}

SEED_000 = (
    "截至3月24日18时，省市县三级共受理社会监督意见1481件，其中省本级受理774件，占52.3%。"
    "按照转办、督办、重点督办和移交纪检监察机关四种方式予以处置，省、市、县三级共处置监督意见1481件，"
    "其中省本级处置774件（转办693件、督办46件、重点督办5件、移交省纪委监委30件）。"
    "省市县三级共办结678件，其中省本级受理的社会监督意见办结205件，重点督办的5件取得阶段性进展3件。"
)


def test_the_demo_reproduces_seed_000s_paragraph(
        backend: str, built_demo: Callable[[str], tuple[Engine, str]]) -> None:
    engine, summary = built_demo(backend)
    ctx = ServiceContext(engine=engine)
    assert summary.startswith("演示数据：1481件案件，")
    assert status_paragraph(ctx) == SEED_000
    with Session(engine) as session:
        # Every case got there by actions: each has its register event and a dispatch.
        cases = session.exec(select(func.count()).select_from(Case)).one()
        registered = session.exec(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "register")).one()
        progress = session.exec(select(func.count()).select_from(HandlingReport)
                                .where(HandlingReport.kind == "progress")).one()
        avoided = [e for e in session.exec(select(AuditEvent).where(AuditEvent.action == "transfer"))
                   if "avoidance" in e.data]
    assert cases == registered == 1481
    assert progress == 3
    assert avoided, "the demo shows the avoidance rule at work"
    with Session(engine) as session:
        forwarded = session.exec(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "forward_report")).one()
    assert forwarded, "the demo shows governments passing cases on to their bureaus (二次交办)"
    with Session(engine) as session:
        parties = Counter(session.exec(select(AuditEvent.action).where(AuditEvent.action.in_(  # type: ignore[attr-defined]
            ("sign_for", "decline", "reinstate", "request_return", "accept_return", "record_callback",
             "request_reexamination", "decide_reexamination")))))
        reexamined = session.exec(select(Case.state).where(Case.review_level == "reexamination")).all()
    # Every party's steps, where an office would take them: units sign, a few cases are declined and
    # taken back, a 退单 is asked and accepted, callbacks on the scale, and 复查 upheld in days.
    assert min(parties.values()) > 0 and len(parties) == 8, parties
    assert reexamined and set(reexamined) == {"closed"}


def test_the_demo_world_runs_its_engine_day_by_day_and_routes_each_complaint_by_its_kind(
        backend: str, built_demo: Callable[[str], tuple[Engine, str]]) -> None:
    engine, _ = built_demo(backend)
    ctx = ServiceContext(engine=engine)
    as_of = parse_local(figures()["as_of"])
    with Session(engine) as session:
        steps = session.exec(select(PressureStep).where(PressureStep.episode.startswith("h"),
                                                        PressureStep.outcome == "done")).all()
        cases = {c.id: c for c in session.exec(select(Case))}
        orgs = {o.id: o for o in session.exec(select(Org))}
        subjects = {s.id: s for s in session.exec(select(Subject))}
    # Ladder steps came on the days they fell due, one at a time, over the whole period…
    per_case_day = Counter((s.case_id, local_date(s.at)) for s in steps)
    assert steps and max(per_case_day.values()) == 1
    assert len({local_date(s.at) for s in steps}) > 15
    assert not [s for s in steps if s.step in figures()["engine"]["propose"]]
    # …so that every case overdue by a working day or more has been chased in its episode, and
    # the served demo's first sweep, at the demo's "now", owes nothing from the past.
    calendar = ctx.calendars.official
    chased = {(s.case_id, s.episode) for s in steps if s.step == "remind"}
    overdue = [c for c in cases.values() if c.state in HANDLING and c.deadline_kind == "handling"
               and c.deadline_on and calendar.workdays_between(c.deadline_on, as_of.date()) >= 1]
    assert len(overdue) > 100
    assert not [c.number for c in overdue if (c.id, f"h{c.deadline_seq}") not in chased]
    later = dataclasses.replace(ctx, clock=SimulatedClock(as_of + dt.timedelta(minutes=15)),
                                policy=demo_policy(ctx.policy, figures()))
    assert not run_deadline_sweep(later).steps
    # Only complaints about officials' conduct went to the discipline commission, all of them.
    referred = {c.category for c in cases.values() if c.disposition == "refer"}
    assert referred == MISCONDUCT
    assert not [c for c in cases.values() if c.category in MISCONDUCT and c.disposition != "refer"]
    # Each complaint is about a unit whose line of work it is, or the region's government.
    for case in cases.values():
        subject = orgs[subjects[case.subject_id].org_id]
        assert subject.kind == "government" or subject.code.rsplit("-", 1)[1] in CATEGORY_UNITS[
            case.category], (case.category, subject.name)
