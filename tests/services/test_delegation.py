"""二次交办: a government passes a case on to its department, reviews its report, stays responsible."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from duban.errors import ActionNotAllowed, CaseNotFound, InvalidActionInput, PermissionDenied
from duban.models import AuditEvent, HandlingReport, Review
from duban.services import CaseService, ServiceContext
from duban.services.integrity import verify
from duban.services.queries import scope_for
from duban.services.reading import case_detail, list_cases
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, org_id, transferred, unit_actor, world

GOV, SWJ, ZJJ = "GS-LZ-CG-GOV", "GS-LZ-CG-SWJ", "GS-LZ-CG-ZJJ"
# A complaint about a company, not about an org: every department of the county may take it.
ABOUT_A_COMPANY = {"subject_name": "某建设集团", "subject_org_code": None, "subject_kind": "enterprise",
                   "title": "某建设集团施工噪音扰民", "summary": "反映人测试反映人称夜间施工。"}


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def _delegated(ctx: ServiceContext, department: str = SWJ, **overrides: object) -> str:
    # Each complaint its own matter (a second one about the same matter would be linked to the first).
    _delegated.made = getattr(_delegated, "made", 0) + 1  # type: ignore[attr-defined]
    title = f"{ABOUT_A_COMPANY['title']}（第{_delegated.made}处工地）"  # type: ignore[attr-defined]
    number = transferred(ctx, GOV, **{**ABOUT_A_COMPANY, "title": title, **overrides})
    CaseService(ctx).act(number, "delegate", actor=unit_actor(ctx, GOV), form={"department": department})
    return number


def _events(ctx: ServiceContext, number: str) -> list[AuditEvent]:
    case = CaseService(ctx).get(number)
    with Session(ctx.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(col(AuditEvent.seq))))


def test_a_government_passes_a_case_to_its_department_and_stays_its_unit(ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    case = CaseService(ctx).get(number)
    assert case.unit_id == org_id(ctx, GOV) and case.delegate_id == org_id(ctx, SWJ)
    assert case.state == "transferred"  # the government's handling limit runs on
    last = _events(ctx, number)[-1]
    assert last.action == "delegate" and last.data["department"] == SWJ


def test_the_department_sees_the_case_and_another_department_is_told_it_does_not_exist(
        ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    department, other = unit_actor(ctx, SWJ), unit_actor(ctx, ZJJ)
    detail = case_detail(ctx, number, actor=department)
    assert detail["delegate"]["code"] == SWJ and detail["unit"]["code"] == GOV
    with Session(ctx.engine) as session:
        mine = list_cases(ctx, scope_for(session, department), actor=department)
        theirs = list_cases(ctx, scope_for(session, other), actor=other)
    assert [r.number for r in mine] == [number] and theirs == []
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=other)
    with pytest.raises(CaseNotFound):
        CaseService(ctx).act(number, "submit_report", actor=other, form={**REPORTED, "text": "已处理"})


def test_identity_reaches_the_department_only_when_the_complainants_agreed(ctx: ServiceContext) -> None:
    department = unit_actor(ctx, SWJ)
    hidden = case_detail(ctx, _delegated(ctx), actor=department)
    assert hidden["complainant"]["visible"] is False
    assert "测试反映人" not in hidden["case"]["summary"] and "测试反映人" not in str(hidden)
    agreed = case_detail(ctx, _delegated(ctx, complainant_consent=True), actor=department)
    assert agreed["complainant"]["visible"] is True and agreed["complainant"]["name"] == "测试反映人"
    assert "测试反映人" in agreed["case"]["summary"]


def test_identity_leaves_the_department_with_the_case(ctx: ServiceContext) -> None:
    number = _delegated(ctx, complainant_consent=True)
    CaseService(ctx).act(number, "recall_delegation", actor=unit_actor(ctx, GOV))
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=unit_actor(ctx, SWJ))


def test_a_case_is_never_passed_to_the_department_it_complains_about(ctx: ServiceContext) -> None:
    number = transferred(ctx, GOV)  # the complaint is about 城关区住建局
    with pytest.raises(InvalidActionInput) as refused:
        CaseService(ctx).act(number, "delegate", actor=unit_actor(ctx, GOV), form={"department": ZJJ})
    assert refused.value.field == "department" and refused.value.kind == "delegate_avoided"
    choices = case_detail(ctx, number, actor=unit_actor(ctx, GOV))["delegate_choices"]
    assert {c["code"]: c["avoided"] for c in choices} == {SWJ: False, ZJJ: True}


@pytest.mark.parametrize("target", ["GS-LZ-ZJJ", "GS-LZ-CG", "GS-LZ-CG-GOV", "GS-FGW", "NO-SUCH-ORG"])
def test_only_the_government_s_own_departments_take_a_case_it_passes_on(ctx: ServiceContext,
                                                                          target: str) -> None:
    number = transferred(ctx, GOV, **ABOUT_A_COMPANY)
    with pytest.raises(InvalidActionInput) as refused:
        CaseService(ctx).act(number, "delegate", actor=unit_actor(ctx, GOV), form={"department": target})
    assert refused.value.field == "department"
    assert CaseService(ctx).get(number).delegate_id is None


def test_a_bureau_handling_a_case_has_no_department_to_pass_it_to(ctx: ServiceContext) -> None:
    number = transferred(ctx, SWJ, **ABOUT_A_COMPANY)
    bureau = unit_actor(ctx, SWJ)
    assert "delegate" not in CaseService(ctx).allowed_actions(CaseService(ctx).get(number), bureau)
    with pytest.raises(ActionNotAllowed):
        CaseService(ctx).act(number, "delegate", actor=bureau, form={"department": ZJJ})


def test_the_department_s_report_waits_for_the_government_which_returns_it_then_forwards_it(
        ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    service, gov, department = CaseService(ctx), unit_actor(ctx, GOV), unit_actor(ctx, SWJ)
    case = service.act(number, "submit_report", actor=department, form={**REPORTED, "text": "已协调停工整改"})
    assert case.state == "transferred" and case.delegate_report_pending
    assert set(service.allowed_actions(case, gov)) >= {"forward_report", "return_delegate_report"}
    assert "submit_report" not in service.allowed_actions(case, department)  # one report at a time
    with pytest.raises(ActionNotAllowed):
        service.act(number, "submit_report", actor=department, form={**REPORTED, "text": "再报一次"})
    with pytest.raises(InvalidActionInput):
        service.act(number, "return_delegate_report", actor=gov, form={"reasons": ""})
    case = service.act(number, "return_delegate_report", actor=gov, form={"reasons": "未附整改照片"})
    assert case.state == "transferred" and not case.delegate_report_pending
    with pytest.raises(ActionNotAllowed):
        service.act(number, "forward_report", actor=gov)
    service.act(number, "submit_report", actor=department, form={**REPORTED, "text": "已停工整改，附照片"})
    case = service.act(number, "forward_report", actor=gov, form={"note": "经区政府审核属实"})
    assert case.state == "reported" and case.deadline_kind == "review" and not case.delegate_report_pending
    case = service.act(number, "approve", actor=SUPERVISOR)
    assert case.state == "verified"
    with Session(ctx.engine) as session:
        reports = session.exec(select(HandlingReport).where(HandlingReport.case_id == case.id)
                               .order_by(col(HandlingReport.id))).all()
        reviews = session.exec(select(Review).where(Review.case_id == case.id).order_by(col(Review.id))).all()
    assert [r.unit_id for r in reports] == [org_id(ctx, SWJ)] * 2  # the department wrote both
    assert [r.decision for r in reviews] == ["gov_returned", "forwarded", "approved"]
    assert reviews[-1].report_id == reports[-1].id  # the office approved the report forwarded
    assert [e.action for e in _events(ctx, number)][-5:] == [
        "submit_report", "return_delegate_report", "submit_report", "forward_report", "approve"]
    assert verify(ctx, case=number).findings == []


def test_while_delegated_each_side_does_only_its_own_part(ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    service, gov, department = CaseService(ctx), unit_actor(ctx, GOV), unit_actor(ctx, SWJ)
    with pytest.raises(PermissionDenied):
        service.act(number, "submit_report", actor=gov, form={**REPORTED, "text": "政府自己报"})
    with pytest.raises(PermissionDenied):
        service.act(number, "request_extension", actor=gov, form={"days": 5, "reason": "需协调"})
    for action, form in (("delegate", {"department": SWJ}), ("recall_delegation", {}),
                         ("request_return", {"reason": "x"})):
        with pytest.raises(PermissionDenied):
            service.act(number, action, actor=department, form=form)
    case = service.get(number)
    assert set(service.allowed_actions(case, department)) == {"submit_report", "request_extension"}
    assert "recall_delegation" in service.allowed_actions(case, gov)
    case = service.act(number, "request_extension", actor=department,
                       form={"days": 5, "reason": "需协调水源"})
    assert case.delegate_id == org_id(ctx, SWJ)


def test_the_government_passes_it_on_again_or_takes_it_back(ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    service, gov = CaseService(ctx), unit_actor(ctx, GOV)
    service.act(number, "delegate", actor=gov, form={"department": ZJJ})
    assert service.get(number).delegate_id == org_id(ctx, ZJJ)
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=unit_actor(ctx, SWJ))
    assert _events(ctx, number)[-1].data["from_department"] == SWJ
    service.act(number, "recall_delegation", actor=gov, form={"note": "区政府直接办理"})
    case = service.get(number)
    assert case.delegate_id is None and case.unit_id == org_id(ctx, GOV)
    case = service.act(number, "submit_report", actor=gov, form={**REPORTED, "text": "区政府已办理"})
    assert case.state == "reported"


def test_while_a_report_waits_the_government_decides_it_before_passing_the_case_on(
        ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    service, gov = CaseService(ctx), unit_actor(ctx, GOV)
    service.act(number, "submit_report", actor=unit_actor(ctx, SWJ), form={**REPORTED, "text": "已办理"})
    for action, form in (("delegate", {"department": ZJJ}), ("recall_delegation", {})):
        with pytest.raises(ActionNotAllowed):
            service.act(number, action, actor=gov, form=form)


def test_a_report_the_office_returns_goes_back_to_the_department(ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    service, gov, department = CaseService(ctx), unit_actor(ctx, GOV), unit_actor(ctx, SWJ)
    service.act(number, "submit_report", actor=department, form={**REPORTED, "text": "已办理"})
    service.act(number, "forward_report", actor=gov)
    case = service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "事实不清"})
    assert case.state == "returned" and case.delegate_id == org_id(ctx, SWJ)
    case = service.act(number, "submit_report", actor=department, form={**REPORTED, "text": "已补充核实"})
    assert case.state == "returned" and case.delegate_report_pending


def test_a_case_handed_to_another_unit_leaves_the_department(ctx: ServiceContext) -> None:
    number = _delegated(ctx)
    case = CaseService(ctx).act(number, "reassign", actor=DISPATCHER,
                                form={"unit": SWJ, "reason": "职责调整"})
    assert case.unit_id == org_id(ctx, SWJ) and case.delegate_id is None
    assert _events(ctx, number)[-1].data["delegation_ended"] == SWJ


def test_the_government_s_review_queue_lists_its_departments_waiting_reports(ctx: ServiceContext) -> None:
    waiting, quiet = _delegated(ctx), _delegated(ctx)
    CaseService(ctx).act(waiting, "submit_report", actor=unit_actor(ctx, SWJ),
                form={**REPORTED, "text": "已办理"})
    gov, department = unit_actor(ctx, GOV), unit_actor(ctx, SWJ)
    with Session(ctx.engine) as session:
        flt, theirs = scope_for(session, gov), scope_for(session, department)
    flt.delegate_review = theirs.delegate_review = True
    assert [r.number for r in list_cases(ctx, flt, actor=gov)] == [waiting]
    assert list_cases(ctx, theirs, actor=department) == []  # the department's own wait is not its queue
    assert quiet != waiting
