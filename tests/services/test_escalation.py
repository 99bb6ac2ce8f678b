"""提级直办 moves the case up: the office above becomes the office of record, the one below reads.

A county case escalated to the city is the city's to review, approve, extend, call back and press;
the county keeps reading it, and every action it tries is refused naming the city; mail about the
case speaks for, and goes to, the office that holds it.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from duban.errors import CaseHeldElsewhere, CaseNotFound, PermissionDenied
from duban.models import Case, Interview, Notification, Org
from duban.services import Actor, CaseService, ServiceContext
from duban.services.callbacks import complete_revisit, sample_callbacks
from duban.services.context import ENGINE_ACTOR
from duban.services.forms import FORMS
from duban.services.queries import scope_for
from duban.services.reading import case_detail, list_cases, load_case
from duban.states.definition import TRANSITIONS
from tests.factories import CLERK, REPORTED, SAMPLE_FORM, advance, complaint, org_id, unit_actor, world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def office_actor(ctx: ServiceContext, code: str, role: str) -> Actor:
    return Actor(f"{code}-{role}", role, org_id(ctx, code))


def county_case(ctx: ServiceContext, **overrides: object) -> str:
    """A complaint the county office received, about an enterprise (nobody to avoid)."""
    fields = dict(office_code="GS-LZ-CG", subject_name="某物业公司", subject_kind="enterprise",
                  subject_org_code=None)
    fields.update(overrides)
    return CaseService(ctx).register(complaint(**fields), actor=CLERK).case.number


def escalated(ctx: ServiceContext) -> str:
    number = county_case(ctx)
    CaseService(ctx).act(number, "escalate", actor=office_actor(ctx, "GS-LZ-CG", "dispatcher"))
    return number


def reported(ctx: ServiceContext) -> str:
    number = escalated(ctx)
    CaseService(ctx).act(number, "submit_report", actor=office_actor(ctx, "GS-LZ", "dispatcher"),
                         form={**REPORTED, "text": "市办直接办理：已协调支付。"})
    return number


def record_office(ctx: ServiceContext, number: str) -> str | None:
    case = CaseService(ctx).get(number)
    return None if case.record_office_id is None else ctx.orgs.by_id(case.record_office_id).code


def test_escalating_a_county_case_makes_the_city_office_its_office_of_record(ctx: ServiceContext) -> None:
    number = escalated(ctx)
    case = CaseService(ctx).get(number)
    assert ctx.orgs.by_id(case.unit_id).code == "GS-LZ"  # type: ignore[arg-type]
    assert record_office(ctx, number) == "GS-LZ"
    assert ctx.orgs.by_id(case.office_id).code == "GS-LZ-CG"  # who received it stays recorded
    assert number.startswith("GS-LZ-CG-")  # and so does its number
    detail = case_detail(ctx, number, actor=office_actor(ctx, "GS-LZ", "supervisor"))
    assert detail["timeline"][-1]["data"]["office_of_record"] == "GS-LZ"
    assert (detail["office"]["code"], detail["record_office"]["code"]) == ("GS-LZ-CG", "GS-LZ")


def test_the_engine_s_step_up_to_escalate_moves_the_case_up_as_well(ctx: ServiceContext) -> None:
    number = county_case(ctx)
    CaseService(ctx).act(number, "key_supervise", actor=office_actor(ctx, "GS-LZ-CG", "dispatcher"),
                         form={"unit": "GS-LZ-CG-SWJ"})
    assert record_office(ctx, number) is None
    CaseService(ctx).act(number, "step_up", actor=ENGINE_ACTOR, form={"reason": "超期"})
    case = CaseService(ctx).get(number)
    assert (case.disposition, record_office(ctx, number)) == ("escalate", "GS-LZ")



def _county_actions(ctx: ServiceContext) -> list[tuple[Actor, str]]:
    roles = ctx.policy.roles
    actions = sorted({t["trigger"] for t in TRANSITIONS})
    return [(office_actor(ctx, "GS-LZ-CG", role), action)
            for role in ("clerk", "dispatcher", "supervisor", "leader", "admin")
            for action in actions if role in roles.get(action, [])]


def test_the_county_may_do_nothing_to_the_case_the_city_took_over_and_is_told_who_holds_it(
        ctx: ServiceContext) -> None:
    number = reported(ctx)
    before = CaseService(ctx).get(number)
    tried = _county_actions(ctx)
    assert {"approve", "send_back", "reassign", "escalate"} <= {a for _, a in tried}
    for actor, action in tried:
        with pytest.raises(CaseHeldElsewhere) as err:
            CaseService(ctx).act(number, action, actor=actor, form={
                name: value for name, value in SAMPLE_FORM.items() if name in FORMS[action].model_fields})
        assert err.value.holder == "兰州市办"
        assert "兰州市办" in str(err.value) and number in str(err.value)
        assert CaseService(ctx).allowed_actions(CaseService(ctx).get(number), actor) == []
    after = CaseService(ctx).get(number)
    assert (after.version, after.state, after.audit_seq) == (before.version, before.state, before.audit_seq)


def test_the_city_supervisor_reviews_what_the_county_supervisor_no_longer_may(ctx: ServiceContext) -> None:
    number = reported(ctx)
    county, city = (office_actor(ctx, code, "supervisor") for code in ("GS-LZ-CG", "GS-LZ"))
    allowed = CaseService(ctx).allowed_actions(CaseService(ctx).get(number), city)
    assert {"approve", "send_back"} <= set(allowed)
    with pytest.raises(CaseHeldElsewhere):
        CaseService(ctx).act(number, "approve", actor=county)
    CaseService(ctx).act(number, "send_back", actor=city, form={"reasons": "事实不清"})
    assert CaseService(ctx).get(number).state == "returned"


def test_extension_callbacks_and_reassignment_are_the_city_s(ctx: ServiceContext) -> None:
    number = escalated(ctx)
    service = CaseService(ctx)
    county = {role: office_actor(ctx, "GS-LZ-CG", role) for role in ("clerk", "dispatcher", "supervisor")}
    city = {role: office_actor(ctx, "GS-LZ", role) for role in ("clerk", "dispatcher", "supervisor")}
    with pytest.raises(CaseHeldElsewhere):
        service.act(number, "reassign", actor=county["dispatcher"],
                    form={"unit": "GS-LZ-CG-SWJ", "reason": "x"})
    service.act(number, "reassign", actor=city["dispatcher"],
                form={"unit": "GS-LZ-ZJJ", "reason": "市住建局办理"})
    assert record_office(ctx, number) == "GS-LZ"  # handed to a unit, the city still holds it
    unit = unit_actor(ctx, "GS-LZ-ZJJ")
    service.act(number, "request_extension", actor=unit, form={"days": 10, "reason": "需协调"})
    with pytest.raises(CaseHeldElsewhere):
        service.act(number, "approve_extension", actor=county["supervisor"])
    service.act(number, "approve_extension", actor=city["supervisor"])
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已办结"})
    service.act(number, "approve", actor=city["supervisor"])
    with pytest.raises(CaseHeldElsewhere):
        service.act(number, "record_callback", actor=county["clerk"],
                    form={"method": "phone", "result": "satisfied"})
    service.act(number, "record_callback", actor=city["clerk"],
                form={"method": "phone", "result": "satisfied", "note": "满意"})
    assert service.get(number).state == "closed"


def test_the_county_still_reads_the_case_in_its_lists_and_on_its_page(ctx: ServiceContext) -> None:
    number = reported(ctx)
    readers = [office_actor(ctx, code, role) for code in ("GS", "GS-LZ", "GS-LZ-CG", "GS-LX")
               for role in ("clerk", "dispatcher", "supervisor", "leader")]
    readers += [unit_actor(ctx, code) for code in ("GS-LZ-CG-SWJ", "GS-LZ-ZJJ")]
    for actor in readers:
        with Session(ctx.engine) as session:
            flt = scope_for(session, actor)
            try:
                load_case(session, ctx, number, actor=actor)
                on_page = True
            except Exception:
                on_page = False
        in_list = number in {row.number for row in list_cases(ctx, flt, actor=actor)}
        assert in_list == on_page, actor  # a list and a page never disagree
        assert on_page == (actor.role != "unit" and actor.org_id != org_id(ctx, "GS-LX")), actor
    county = case_detail(ctx, number, actor=office_actor(ctx, "GS-LZ-CG", "supervisor"))
    assert county["read_only"] and county["allowed_actions"] == []
    assert county["record_office"]["name"] == "兰州市办"
    city = case_detail(ctx, number, actor=office_actor(ctx, "GS-LZ", "supervisor"))
    assert not city["read_only"] and "approve" in city["allowed_actions"]


def test_both_offices_dispatchers_see_the_complainant_and_their_supervisors_do_not(
        ctx: ServiceContext) -> None:
    number = reported(ctx)
    for code in ("GS-LZ-CG", "GS-LZ", "GS"):
        for role, sees in (("dispatcher", True), ("clerk", True), ("supervisor", False), ("leader", False)):
            detail = case_detail(ctx, number, actor=office_actor(ctx, code, role))
            assert detail["complainant"]["visible"] is sees, (code, role)
            assert (detail["complainant"]["name"] == "测试反映人") is sees, (code, role)


def _mail(ctx: ServiceContext, number: str, kind: str) -> list[tuple[str, str, str]]:
    """(recipient org code, address, body) of each mail of `kind` about the case."""
    with Session(ctx.engine) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
        rows = session.exec(select(Notification, Org).join(Org, col(Notification.org_id) == Org.id)
                            .where(Notification.case_id == case.id, Notification.kind == kind)).all()
        return [(org.code, n.to_address, n.body) for n, org in rows]


def _overdue(ctx: ServiceContext, number: str) -> None:
    case = CaseService(ctx).get(number)
    assert case.deadline_on is not None
    while ctx.today() <= case.deadline_on:
        advance(ctx, days=7)


def test_an_interview_of_the_city_handling_directly_is_asked_of_the_province_not_of_the_county(
        ctx: ServiceContext) -> None:
    number = escalated(ctx)
    _overdue(ctx, number)
    CaseService(ctx).act(number, "interview", actor=ENGINE_ACTOR)
    asked = _mail(ctx, number, "interview_office")
    told = _mail(ctx, number, "interview_unit")
    assert [code for code, _, _ in asked] == ["GS"]
    assert "请安排约谈该单位" in asked[0][2] and "兰州市办" in asked[0][2]
    assert [code for code, _, _ in told] == ["GS-LZ"]
    assert "省办将就此约谈" in told[0][2]
    with Session(ctx.engine) as session:
        interview = session.exec(select(Interview)).one()
    assert (interview.office_id, interview.unit_id) == (org_id(ctx, "GS"), org_id(ctx, "GS-LZ"))


def test_an_interview_of_a_unit_the_city_handed_the_case_to_is_the_city_s(ctx: ServiceContext) -> None:
    number = escalated(ctx)
    CaseService(ctx).act(number, "reassign", actor=office_actor(ctx, "GS-LZ", "dispatcher"),
                         form={"unit": "GS-LZ-ZJJ", "reason": "市住建局办理"})
    _overdue(ctx, number)
    CaseService(ctx).act(number, "interview", actor=ENGINE_ACTOR)
    assert [code for code, _, _ in _mail(ctx, number, "interview_office")] == ["GS-LZ"]
    assert [code for code, _, _ in _mail(ctx, number, "interview_unit")] == ["GS-LZ-ZJJ"]


def test_pressure_on_the_city_handling_directly_goes_to_the_city_government_signed_by_the_province(
        ctx: ServiceContext) -> None:
    number = escalated(ctx)
    _overdue(ctx, number)
    for action in ("remind", "copy_notice", "public_notice"):
        CaseService(ctx).act(number, action, actor=ENGINE_ACTOR)
    remind = _mail(ctx, number, "remind")
    assert [code for code, _, _ in remind] == ["GS-LZ"]
    copy = _mail(ctx, number, "copy_notice")
    # to the city government's leader in charge of the city office (the directory's leader_email)
    assert [(code, address) for code, address, _ in copy] == [
        ("GS-LZ-GOV", "gs-lz-gov.fg-duban@duban.example")]
    assert {code for code, _, _ in _mail(ctx, number, "public_notice")} == {"GS-LZ", "GS-LZ-GOV"}
    for _, _, body in remind + copy:
        assert body.rstrip().splitlines()[-2] == "省办"  # the office above presses, never the county
        assert "城关区办" not in body


def test_a_province_case_escalated_to_the_city_stays_the_province_s_and_the_city_reports_on_it(
        ctx: ServiceContext) -> None:
    number = CaseService(ctx).register(complaint(subject_name="某物业公司", subject_kind="enterprise",
                                                 subject_org_code=None), actor=CLERK).case.number
    province = {role: office_actor(ctx, "GS", role) for role in ("dispatcher", "supervisor")}
    city = {role: office_actor(ctx, "GS-LZ", role) for role in ("dispatcher", "supervisor")}
    CaseService(ctx).act(number, "transfer", actor=province["dispatcher"], form={"unit": "GS-LZ-CG-SWJ"})
    CaseService(ctx).act(number, "escalate", actor=province["dispatcher"])  # the city, above the unit
    assert ctx.orgs.by_id(CaseService(ctx).get(number).unit_id).code == "GS-LZ"  # type: ignore[arg-type]
    assert record_office(ctx, number) is None  # the city is not above the province
    allowed = CaseService(ctx).allowed_actions(CaseService(ctx).get(number), city["dispatcher"])
    assert "submit_report" in allowed and "reassign" not in allowed
    CaseService(ctx).act(number, "submit_report", actor=city["dispatcher"], form={**REPORTED, "text": "已办"})
    with pytest.raises(CaseHeldElsewhere) as err:
        CaseService(ctx).act(number, "approve", actor=city["supervisor"])
    assert err.value.holder == "省办"
    CaseService(ctx).act(number, "send_back", actor=province["supervisor"], form={"reasons": "未解决"})
    with Session(ctx.engine) as session:
        flt = scope_for(session, city["dispatcher"])
    flt.state, flt.held = "returned", True  # the city's queue: a case it handles, to report on again
    assert number in {row.number for row in list_cases(ctx, flt, actor=city["dispatcher"])}


def test_avoidance_moving_a_county_case_to_the_city_office_makes_the_city_hold_it(
        ctx: ServiceContext) -> None:
    number = county_case(ctx, subject_name="城关区人民政府", subject_kind="unit",
                         subject_org_code="GS-LZ-CG-GOV")
    CaseService(ctx).act(number, "transfer", actor=office_actor(ctx, "GS-LZ-CG", "dispatcher"),
                         form={"unit": "GS-LZ-CG-GOV"})
    assert record_office(ctx, number) == "GS-LZ"
    with pytest.raises(CaseHeldElsewhere):
        CaseService(ctx).act(number, "reassign", actor=office_actor(ctx, "GS-LZ-CG", "dispatcher"),
                             form={"unit": "GS-LZ-CG-SWJ", "reason": "改派"})


def test_a_unit_refused_is_still_refused_by_its_role_not_told_who_holds_the_case(ctx: ServiceContext) -> None:
    number = reported(ctx)
    with pytest.raises(PermissionDenied) as err:
        CaseService(ctx).act(number, "approve", actor=office_actor(ctx, "GS-LZ-CG", "leader"))
    assert not isinstance(err.value, CaseHeldElsewhere)  # a leader never approves, whoever holds it


def test_work_queues_hold_only_what_the_office_holds_while_its_lists_show_all_it_reads(
        ctx: ServiceContext) -> None:
    number = reported(ctx)
    own = county_case(ctx, title="小区路灯不亮")
    CaseService(ctx).act(own, "transfer", actor=office_actor(ctx, "GS-LZ-CG", "dispatcher"),
                         form={"unit": "GS-LZ-CG-SWJ"})
    CaseService(ctx).act(own, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-SWJ"),
                         form={**REPORTED, "text": "已修复"})
    for code, holds in (("GS-LZ-CG", False), ("GS-LZ", True), ("GS", True)):
        actor = office_actor(ctx, code, "supervisor")
        with Session(ctx.engine) as session:
            flt = scope_for(session, actor)
        flt.state = "reported"
        assert {number, own} <= {row.number for row in list_cases(ctx, flt, actor=actor)}
        flt.held = True
        queue = {row.number for row in list_cases(ctx, flt, actor=actor)}
        assert (number in queue, own in queue) == (holds, True), code


def test_escalating_again_moves_the_case_to_the_province_and_leaves_the_city_reading(
        ctx: ServiceContext) -> None:
    number = reported(ctx)
    city = {role: office_actor(ctx, "GS-LZ", role) for role in ("dispatcher", "supervisor")}
    CaseService(ctx).act(number, "send_back", actor=city["supervisor"], form={"reasons": "未解决"})
    CaseService(ctx).act(number, "escalate", actor=city["dispatcher"])
    assert record_office(ctx, number) == "GS"
    assert ctx.orgs.by_id(CaseService(ctx).get(number).unit_id).code == "GS"  # type: ignore[arg-type]
    with pytest.raises(CaseHeldElsewhere) as err:
        CaseService(ctx).act(number, "submit_report", actor=city["dispatcher"],
                             form={**REPORTED, "text": "报告"})
    assert err.value.holder == "省办"
    assert case_detail(ctx, number, actor=city["supervisor"])["read_only"]


def test_the_revisit_of_a_case_the_city_took_over_is_the_city_s(ctx: ServiceContext) -> None:
    ctx.policy = ctx.policy.model_copy(
        update={"callbacks": ctx.policy.callbacks.model_copy(update={"revisit_ratio": 1.0})})
    number = reported(ctx)
    city = {role: office_actor(ctx, "GS-LZ", role) for role in ("clerk", "supervisor")}
    CaseService(ctx).act(number, "approve", actor=city["supervisor"])
    CaseService(ctx).act(number, "record_callback", actor=city["clerk"],
                         form={"method": "phone", "result": "satisfied", "note": "满意"})
    advance(ctx, days=91)
    assert sample_callbacks(ctx).queued["revisit"] == 1
    with pytest.raises(CaseHeldElsewhere):
        complete_revisit(ctx, number, actor=office_actor(ctx, "GS-LZ-CG", "supervisor"))
    with pytest.raises(CaseNotFound):
        complete_revisit(ctx, number, actor=office_actor(ctx, "GS-LX", "supervisor"))
    assert complete_revisit(ctx, number, actor=city["supervisor"], note="未反弹").state == "closed"
