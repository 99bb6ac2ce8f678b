"""Scope for one case (see, act, register) and the masking of complainants in free text."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from duban.errors import CaseNotFound, InvalidActionInput, PermissionDenied
from duban.models import AuditEvent
from duban.services import Actor, CaseService
from duban.services.queries import CaseFilter
from duban.services.reading import case_detail, list_cases
from tests.factories import (
    CLERK,
    DISPATCHER,
    REPORTED,
    complaint,
    org_id,
    registered,
    transferred,
    unit_actor,
    world,
)


def _events(ctx, number: str) -> int:
    with Session(ctx.engine) as session:
        case = CaseService(ctx).load_in(session, number, for_write=False)
        return session.exec(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.case_id == case.id)).one()


def test_a_county_dispatcher_cannot_see_or_act_on_a_case_the_province_received(engine) -> None:
    ctx = world(engine)
    number = registered(ctx)
    county = Actor("县分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=county)
    with pytest.raises(CaseNotFound):
        CaseService(ctx).act(number, "transfer", actor=county, form={"unit": "GS-LZ-CG-ZJJ"})
    assert CaseService(ctx).get(number).version == 1
    assert _events(ctx, number) == 1


def test_a_city_supervisor_sees_a_province_case_in_its_region_but_may_not_act_on_it(engine) -> None:
    ctx = world(engine)
    number = transferred(ctx, unit="GS-LZ-ZJJ")
    city = Actor("市审核员", "supervisor", org_id(ctx, "GS-LZ"))
    detail = case_detail(ctx, number, actor=city)
    assert detail["allowed_actions"] == []
    with pytest.raises(PermissionDenied):
        CaseService(ctx).act(number, "reassign", actor=city, form={"unit": "GS-LZ-CG-SWJ", "reason": "错派"})
    assert CaseService(ctx).get(number).version == 2


def test_a_city_office_acts_on_cases_its_counties_received(engine) -> None:
    ctx = world(engine)
    number = registered(ctx, office_code="GS-LZ-CG")
    city = Actor("市分流员", "dispatcher", org_id(ctx, "GS-LZ"))
    case = CaseService(ctx).act(number, "transfer", actor=city, form={"unit": "GS-LZ-CG-SWJ"})
    assert case.state == "transferred"


def test_an_office_registers_only_at_offices_in_its_own_region(engine) -> None:
    ctx = world(engine)
    county = Actor("县受理员", "clerk", org_id(ctx, "GS-LZ-CG"))
    with pytest.raises(InvalidActionInput) as info:
        CaseService(ctx).register(complaint(office_code="GS"), actor=county)
    assert info.value.field == "office_code"
    assert CaseService(ctx).register(complaint(office_code="GS-LZ-CG"), actor=county).case.number


def test_a_complainant_named_in_free_text_is_masked_for_the_unit_not_for_the_receiving_office(engine) -> None:
    ctx = world(engine)
    number = transferred(ctx, title="测试反映人反映拖欠工程款",
                         summary="测试反映人（19900123456）称工程已完工。")
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "已联系测试反映人，款项已付。"})
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    shown = repr(case_detail(ctx, number, actor=unit))
    assert "测试反映人" not in shown and "19900123456" not in shown
    assert "（保密）反映拖欠工程款" in shown
    rows = list_cases(ctx, CaseFilter(unit_id=unit.org_id), actor=unit)
    assert rows[0].title == "（保密）反映拖欠工程款"
    office = repr(case_detail(ctx, number, actor=DISPATCHER))
    assert "测试反映人" in office and "19900123456" in office


def test_a_unit_sees_the_complainant_who_agreed_but_not_a_repeat_complainant_who_did_not(engine) -> None:
    ctx = world(engine)
    number = transferred(ctx, complainant_consent=True)
    CaseService(ctx).register(complaint(complainant_name="另一反映人", complainant_phone="19900999888",
                                        summary="另一反映人再次反映"), actor=CLERK)
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "已与另一反映人沟通"})
    shown = case_detail(ctx, number, actor=unit_actor(ctx, "GS-LZ-CG-GOV"))
    assert shown["complainant"]["name"] == "测试反映人"
    assert "另一反映人" not in repr(shown)
