"""Repeat links within scope, avoidance by identity, and where a dispatcher may hand a case."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from duban.config.policy import load_policy
from duban.errors import AvoidanceViolation, CaseNotFound, ConfigError, InvalidActionInput
from duban.models import AuditEvent, Case, RepeatContact, Subject
from duban.services import Actor, CaseService, ServiceContext
from duban.services.context import ENGINE_ACTOR
from duban.services.orgs import install_orgs
from tests.factories import (
    DISPATCHER,
    REPORTED,
    SUPERVISOR,
    OrgRow,
    complaint,
    org_id,
    registered,
    transferred,
    world,
)


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def county_dispatcher(ctx: ServiceContext) -> Actor:
    return Actor("县分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))


def city_dispatcher(ctx: ServiceContext) -> Actor:
    return Actor("市分流员", "dispatcher", org_id(ctx, "GS-LZ"))


def unit_of(ctx: ServiceContext, number: str) -> str | None:
    case = CaseService(ctx).get(number)
    return ctx.orgs.by_id(case.unit_id).code if case.unit_id else None


def counts(ctx: ServiceContext) -> tuple[int, int]:
    with Session(ctx.engine) as session:
        return (session.exec(select(func.count()).select_from(Case)).one(),
                session.exec(select(func.count()).select_from(RepeatContact)).one())


# -- scope of links -------------------------------------------------------------------------

def _province_case(ctx: ServiceContext, state: str) -> str:
    """A case the province received and handed to a province department: no county sees it."""
    service = CaseService(ctx)
    number = registered(ctx, title=f"省本级事项{state}", subject_name="", subject_org_code=None)
    if state == "received":
        return number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-FGW"})
    if state == "transferred":
        return number
    service.act(number, "submit_report", actor=DISPATCHER, form={**REPORTED, "text": "已办"})
    if state == "returned":
        service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "不实"})
        return number
    service.act(number, "approve", actor=SUPERVISOR)
    service.act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    assert state == "closed"
    return number


def _refusal(ctx: ServiceContext, actor: Actor, repeat_of: str) -> BaseException:
    with pytest.raises(Exception) as caught:
        CaseService(ctx).register(complaint(office_code="GS-LZ-CG", repeat_of=repeat_of), actor=actor)
    return caught.value


@pytest.mark.parametrize("state", ["received", "transferred", "returned", "closed"])
def test_repeat_of_a_case_out_of_scope_is_refused_exactly_like_one_that_does_not_exist(
        ctx: ServiceContext, state: str) -> None:
    number = _province_case(ctx, state)
    missing = f"GS-{number.split('-')[1]}-99999"
    before = CaseService(ctx).get(number)
    cases_before = counts(ctx)
    out_of_scope = _refusal(ctx, county_dispatcher(ctx), number)
    absent = _refusal(ctx, county_dispatcher(ctx), missing)
    assert type(out_of_scope) is type(absent) is CaseNotFound
    assert str(out_of_scope).replace(number, "<ref>") == str(absent).replace(missing, "<ref>")
    after = CaseService(ctx).get(number)
    assert (after.version, after.repeat_count) == (before.version, before.repeat_count)
    assert counts(ctx) == cases_before == (1, 0)


def test_repeat_of_a_closed_case_in_scope_still_says_it_is_closed(ctx: ServiceContext) -> None:
    number = _province_case(ctx, "closed")
    with pytest.raises(InvalidActionInput) as caught:
        CaseService(ctx).register(complaint(repeat_of=number), actor=DISPATCHER)
    assert caught.value.field == "repeat_of"


def test_a_county_links_into_a_case_it_may_see(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ-CG", title="县里的事项")
    again = CaseService(ctx).register(complaint(office_code="GS-LZ-CG", title="另一个说法", repeat_of=number),
                                      actor=county_dispatcher(ctx))
    assert again.linked and again.case.number == number


def test_the_automatic_link_never_reaches_a_case_the_actor_may_not_see(ctx: ServiceContext) -> None:
    province = registered(ctx)  # 城关区住建局拖欠… received by the province
    service = CaseService(ctx)
    service.act(province, "transfer", actor=DISPATCHER, form={"unit": "GS-FGW"})
    county = service.register(complaint(office_code="GS-LZ-CG"), actor=county_dispatcher(ctx))
    assert not county.linked
    assert county.case.number != province and county.case.number.startswith("GS-LZ-CG-")
    assert county.case.repeat_count == 0
    assert CaseService(ctx).get(province).repeat_count == 0
    # Who sees both links into the oldest it sees.
    again = service.register(complaint(office_code="GS-LZ-CG"), actor=DISPATCHER)
    assert again.linked and again.case.number == province


def test_the_automatic_link_takes_the_case_in_scope_when_an_older_one_is_not(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    province = registered(ctx)
    service.act(province, "transfer", actor=DISPATCHER, form={"unit": "GS-FGW"})
    county = service.register(complaint(office_code="GS-LZ-CG"), actor=county_dispatcher(ctx)).case
    again = service.register(complaint(office_code="GS-LZ-CG", complainant_name="第三人"),
                             actor=county_dispatcher(ctx))
    assert again.linked and again.case.number == county.number


# -- avoidance by identity ------------------------------------------------------------------

@pytest.mark.parametrize("subject", [
    {"subject_name": "城关区住建局", "subject_org_code": None},
    {"subject_name": "兰州市城关区住房和城乡建设局", "subject_org_code": None},
    {"subject_name": " 兰州市\u3000城关区 住房城乡建设局 ", "subject_org_code": None},
    {"subject_name": "城关住建局", "subject_org_code": None},
    {"subject_name": "ＧＳ－ＬＺ－ＣＧ－ＺＪＪ", "subject_org_code": None},
    {"subject_name": "", "subject_org_code": "GS-LZ-CG-ZJJ"},
    {"subject_name": "城关区住建局", "subject_org_code": "GS-LZ-CG-ZJJ"},
    {"subject_name": "城关区住建局", "subject_org_code": "GS-LZ-CG-SWJ"},  # conflict: both avoided
    {"subject_name": "城关区住建局张科长", "subject_org_code": None, "subject_kind": "person"},
    {"subject_name": "城关区水务局和城关区住建局", "subject_org_code": None},
])
@pytest.mark.parametrize("action", ["transfer", "supervise", "key_supervise"])
def test_a_case_never_goes_to_the_unit_it_names_however_written(
        ctx: ServiceContext, subject: dict[str, Any], action: str) -> None:
    number = registered(ctx, title="反映住建局", **subject)
    CaseService(ctx).act(number, action, actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    assert unit_of(ctx, number) == "GS-LZ"


def test_reassigning_to_a_unit_named_only_by_name_goes_up_a_level(ctx: ServiceContext) -> None:
    number = transferred(ctx, subject_name="兰州市城关区住房和城乡建设局", subject_org_code=None)
    assert unit_of(ctx, number) == "GS-LZ-CG-GOV"
    CaseService(ctx).act(number, "reassign", actor=SUPERVISOR,
                         form={"unit": "GS-LZ-CG-ZJJ", "reason": "改派"})
    assert unit_of(ctx, number) == "GS-LZ"


def test_an_ambiguous_name_keeps_the_case_from_every_namesake(ctx: ServiceContext) -> None:
    install_orgs(ctx.engine, [
        OrgRow("GS-LX-CG", "城关区办", "office", "county", "GS-LX", "城关区"),
        OrgRow("GS-LX-CG-ZJJ", "城关区住建局", "bureau", "county", "GS-LX-CG", "城关区"),
    ])
    first = registered(ctx, title="甲", subject_name="城关区 住建局", subject_org_code=None)
    second = registered(ctx, title="乙", subject_name="城关区 住建局", subject_org_code=None)
    CaseService(ctx).act(first, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    CaseService(ctx).act(second, "transfer", actor=DISPATCHER, form={"unit": "GS-LX-CG-ZJJ"})
    assert (unit_of(ctx, first), unit_of(ctx, second)) == ("GS-LZ", "GS-LX")


def test_the_subject_is_stored_with_how_it_was_resolved(ctx: ServiceContext) -> None:
    resolved = registered(ctx, title="甲", subject_name="兰州市城关区住房和城乡建设局", subject_org_code=None)
    unknown = registered(ctx, title="乙", subject_name="城关区某中心", subject_org_code=None)
    with Session(ctx.engine) as session:
        def subject(number: str) -> Subject:
            case = session.exec(select(Case).where(Case.number == number)).one()
            found = session.get(Subject, case.subject_id)
            assert found is not None
            return found
        zjj = org_id(ctx, "GS-LZ-CG-ZJJ")
        assert (subject(resolved).org_id, subject(resolved).resolution) == (zjj, "name")
        assert (subject(unknown).org_id, subject(unknown).resolution) == (None, "unknown")


def test_the_engine_s_escalation_never_goes_to_the_subject(ctx: ServiceContext) -> None:
    number = transferred(ctx, subject_name="兰州市办", subject_org_code=None, title="反映市办")
    service = CaseService(ctx)
    for _ in range(3):
        service.act(number, "step_up", actor=ENGINE_ACTOR, form={"reason": "超期"})
    case = service.get(number)
    assert case.disposition == "escalate"
    assert unit_of(ctx, number) == "GS"  # higher_office would be 兰州市办: the complaint's subject


def test_a_subject_with_no_office_above_is_refused_with_what_is_allowed(ctx: ServiceContext) -> None:
    number = registered(ctx, subject_name="甘肃省发展和改革委员会", subject_org_code=None, title="反映发改委")
    with pytest.raises(AvoidanceViolation) as caught:
        CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-FGW"})
    assert "another unit" in str(caught.value)
    assert CaseService(ctx).get(number).state == "received"


@pytest.mark.parametrize("department", ["GS-LZ-CG-ZJJ", "GS-LZ-CG-SWJ"])
def test_a_complaint_about_a_government_never_goes_to_its_own_departments(
        ctx: ServiceContext, department: str) -> None:
    """回避: a department answers to its government; a complaint about the government goes up."""
    number = registered(ctx, title="反映区政府不作为", subject_name="城关区人民政府", subject_org_code=None)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": department})
    assert unit_of(ctx, number) == "GS-LZ"
    with Session(ctx.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "transfer")).one()
        assert event.data["avoidance"] == {"requested_unit": department, "assigned_unit": "GS-LZ",
                                           "rule": "avoidance"}


def test_a_complaint_about_a_department_may_go_to_its_government(ctx: ServiceContext) -> None:
    number = registered(ctx, title="反映住建局", subject_name="城关区住建局", subject_org_code=None)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    assert unit_of(ctx, number) == "GS-LZ-CG-GOV"


def test_another_region_s_departments_are_not_kept_from_a_complaint_about_a_government(
        ctx: ServiceContext) -> None:
    number = registered(ctx, title="反映市政府", subject_name="临夏州人民政府", subject_org_code=None)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    assert unit_of(ctx, number) == "GS-LZ-CG-ZJJ"


def test_an_office_may_hand_a_government_s_complaints_to_its_departments_by_policy(
        engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text("[delegation]\navoided_with_government = false\n", encoding="utf-8")
    ctx = world(engine)
    ctx.policy = load_policy(tmp_path)
    number = registered(ctx, title="反映区政府", subject_name="城关区人民政府", subject_org_code=None)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    assert unit_of(ctx, number) == "GS-LZ-CG-ZJJ"


def test_a_repeat_about_a_government_is_not_linked_into_a_case_its_department_holds(
        ctx: ServiceContext) -> None:
    held = transferred(ctx, unit="GS-LZ-CG-ZJJ", title="小区漏水", subject_name="城关区水务局",
                       subject_org_code="GS-LZ-CG-SWJ")
    again = CaseService(ctx).register(
        complaint(title="区政府推诿", subject_name="城关区人民政府", subject_org_code=None, repeat_of=held),
        actor=DISPATCHER)
    assert not again.linked and again.case.number != held


# -- never linked into a case the subject holds ---------------------------------------------

def test_a_repeat_about_the_unit_holding_the_case_opens_a_new_case(ctx: ServiceContext) -> None:
    held = transferred(ctx, unit="GS-LZ-CG-ZJJ", title="小区漏水", subject_name="城关区水务局",
                       subject_org_code="GS-LZ-CG-SWJ")
    before = CaseService(ctx).get(held)
    again = CaseService(ctx).register(
        complaint(title="住建局推诿", subject_name="兰州市城关区住房和城乡建设局", subject_org_code=None,
                  repeat_of=held), actor=DISPATCHER)
    assert not again.linked and again.case.number != held
    after = CaseService(ctx).get(held)
    assert (after.version, after.repeat_count, after.audit_seq) == (before.version, 0, before.audit_seq)
    assert counts(ctx) == (2, 0)
    CaseService(ctx).act(again.case.number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    assert unit_of(ctx, again.case.number) == "GS-LZ"


def test_the_automatic_link_skips_a_case_the_subject_holds(ctx: ServiceContext, engine: Engine) -> None:
    number = registered(ctx)
    # A case handed to its own subject before avoidance knew names (older data): still never linked.
    with engine.begin() as conn:
        conn.execute(update(Case).where(Case.number == number)  # type: ignore[arg-type]
                     .values(unit_id=org_id(ctx, "GS-LZ-CG-ZJJ"), state="transferred"))
    again = CaseService(ctx).register(complaint(complainant_name="另一人"), actor=DISPATCHER)
    assert not again.linked and again.case.number != number
    assert CaseService(ctx).get(number).repeat_count == 0


def test_a_repeat_about_another_unit_keeps_the_case_from_that_unit_too(ctx: ServiceContext) -> None:
    number = registered(ctx, title="小区漏水", subject_name="城关区水务局", subject_org_code="GS-LZ-CG-SWJ")
    again = CaseService(ctx).register(
        complaint(title="住建局也不管", subject_name="城关区住建局", subject_org_code=None, repeat_of=number),
        actor=DISPATCHER)
    assert again.linked
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    assert unit_of(ctx, number) == "GS-LZ"


# -- dispatch targets -----------------------------------------------------------------------

def _target_refusal(ctx: ServiceContext, number: str, action: str, actor: Actor, unit: str,
                    **form: str) -> InvalidActionInput:
    before = CaseService(ctx).get(number)
    with pytest.raises(InvalidActionInput) as caught:
        CaseService(ctx).act(number, action, actor=actor, form={"unit": unit, **form})
    after = CaseService(ctx).get(number)
    assert (after.version, after.unit_id, after.state) == (before.version, before.unit_id, before.state)
    refusal = caught.value
    assert refusal.field == "unit"
    assert unit not in str(refusal) and unit not in str(refusal.limits)
    return refusal


@pytest.mark.parametrize("action", ["transfer", "supervise", "key_supervise"])
def test_a_city_cannot_dispatch_to_another_city_s_unit(ctx: ServiceContext, action: str) -> None:
    number = registered(ctx, office_code="GS-LZ", title="市里的事")
    refusal = _target_refusal(ctx, number, action, city_dispatcher(ctx), "GS-LX-GOV")
    assert refusal.kind == "dispatch_target" and refusal.limits["region"] == "兰州市"


@pytest.mark.parametrize("office", ["GS-LZ-CG", "GS-LZ", "GS"])
def test_an_office_is_never_a_dispatch_target(ctx: ServiceContext, office: str) -> None:
    number = registered(ctx, title="随便", subject_name="", subject_org_code=None)
    _target_refusal(ctx, number, "transfer", DISPATCHER, office)


def test_a_unit_within_the_region_is_a_dispatch_target(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ", title="市里的事")
    CaseService(ctx).act(number, "transfer", actor=city_dispatcher(ctx), form={"unit": "GS-LZ-CG-GOV"})
    assert unit_of(ctx, number) == "GS-LZ-CG-GOV"


def test_the_province_dispatches_anywhere_as_policy_says(ctx: ServiceContext) -> None:
    number = registered(ctx, title="省里的事")
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LX-GOV"})
    assert unit_of(ctx, number) == "GS-LX-GOV"
    bounded = registered(ctx, title="省里的另一件事")
    ctx.policy = ctx.policy.model_copy(update={"dispatch": ctx.policy.dispatch.model_copy(
        update={"province_anywhere": False})})
    CaseService(ctx).act(bounded, "transfer", actor=DISPATCHER, form={"unit": "GS-LX-GOV"})
    assert unit_of(ctx, bounded) == "GS-LX-GOV"  # still inside the province's own region


def test_without_an_office_of_its_own_the_receiving_office_bounds_the_dispatch(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ-CG", title="县里的事")
    _target_refusal(ctx, number, "transfer", DISPATCHER, "GS-LZ-ZJJ")  # a city bureau
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ"})


def test_reassigning_obeys_the_same_targets(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ", title="市里的事")
    service = CaseService(ctx)
    service.act(number, "transfer", actor=city_dispatcher(ctx), form={"unit": "GS-LZ-CG-GOV"})
    _target_refusal(ctx, number, "reassign", city_dispatcher(ctx), "GS-LX-GOV", reason="改派")
    _target_refusal(ctx, number, "reassign", city_dispatcher(ctx), "GS-LZ-CG", reason="改派")
    service.act(number, "reassign", actor=city_dispatcher(ctx), form={"unit": "GS-LZ-ZJJ", "reason": "改派"})
    assert unit_of(ctx, number) == "GS-LZ-ZJJ"


def test_escalation_goes_to_an_office_above_and_nowhere_else(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ-CG", title="县里的事", subject_name="", subject_org_code=None)
    refusal = _target_refusal(ctx, number, "escalate", DISPATCHER, "GS-LZ-CG-GOV")
    assert refusal.kind == "escalate_target"
    _target_refusal(ctx, number, "escalate", DISPATCHER, "GS-LZ-CG")  # not above itself
    CaseService(ctx).act(number, "escalate", actor=DISPATCHER, form={"unit": "GS-LZ"})
    assert unit_of(ctx, number) == "GS-LZ"
    default = registered(ctx, office_code="GS-LZ-CG", title="县里的另一件事", subject_name="",
                         subject_org_code=None)
    CaseService(ctx).act(default, "escalate", actor=DISPATCHER)
    assert unit_of(ctx, default) == "GS-LZ"


def test_referral_goes_to_a_discipline_commission_only(ctx: ServiceContext) -> None:
    number = registered(ctx, office_code="GS-LZ", title="市里的事")
    refusal = _target_refusal(ctx, number, "refer", city_dispatcher(ctx), "GS-LZ-ZJJ")
    assert refusal.kind == "refer_target"
    CaseService(ctx).act(number, "refer", actor=city_dispatcher(ctx), form={"unit": "GS-LZ-JW"})
    assert unit_of(ctx, number) == "GS-LZ-JW"


def test_a_policy_that_makes_offices_dispatch_targets_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text('[dispatch]\nunit_kinds = ["bureau", "office"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policy(tmp_path)
    assert caught.value.key == "dispatch"


def test_the_avoidance_move_is_audited_with_codes_only(ctx: ServiceContext) -> None:
    number = registered(ctx, subject_name="兰州市城关区住房和城乡建设局", subject_org_code=None)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-ZJJ"})
    with Session(ctx.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "transfer")).one()
    assert event.data["avoidance"] == {"requested_unit": "GS-LZ-CG-ZJJ", "assigned_unit": "GS-LZ",
                                       "rule": "avoidance"}
    assert not re.search(r"[\u4e00-\u9fff]", str(event.data))
