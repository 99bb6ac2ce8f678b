"""Official documents: their elements, their numbers (per issuing office, 机关代字 and year, kept
for a reprint, audited), and what the unit they are sent to may read in them."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from duban.config.documents import get_documents
from duban.errors import ActionNotAllowed, CaseNotFound, InvalidActionInput, PermissionDenied
from duban.models import AuditEvent, Document
from duban.reports.documents import render_document
from duban.services.context import Actor
from duban.services.documents import cn_date, compose, documents_of, issue_document
from duban.services.integrity import verify
from tests.factories import (
    CLERK,
    DISPATCHER,
    SUPERVISOR,
    advance,
    org_id,
    registered,
    transferred,
    unit_actor,
    world,
)

NUMBER = re.compile(r"^(?P<mark>[\u4e00-\u9fff]{2,6})〔(?P<year>\d{4})〕(?P<seq>[1-9]\d*)号$")


def _events(ctx, number: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with Session(ctx.engine) as session:
        from duban.models import Case

        case = session.exec(select(Case).where(Case.number == number)).one()
        return list(session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(AuditEvent.seq)))


def test_a_transfer_form_has_the_elements_of_an_official_document(engine) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    number = transferred(ctx)
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    assert issued.number == "甘督交〔2023〕1号"
    paper = compose(ctx, number, issued.id, actor=DISPATCHER)
    assert paper.issuer == "省办" and paper.to == "城关区人民政府"
    assert paper.title == "社会监督意见交办单" and paper.date == "2023年9月27日"
    facts = dict(paper.facts)
    assert facts["编号"] == number and facts["被反映对象"] == "城关区住建局"
    assert "拖欠某建设集团工程款" in facts["反映事项"]
    assert any(number in line for line in paper.body)
    html = render_document(paper)
    for element in ("省办", "甘督交〔2023〕1号", "社会监督意见交办单", "城关区人民政府：", "2023年9月27日",
                    'font-family: "仿宋_GB2312"', 'font-family: "方正小标宋简体"', '"Noto Serif CJK SC"',
                    "size: A4"):
        assert element in html


def test_each_kind_reads_its_own_title_addressee_and_status(engine) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    number = registered(ctx)
    from duban.services import CaseService

    CaseService(ctx).act(number, "supervise", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    advance(ctx, days=60)
    papers = {kind: compose(ctx, number, issue_document(ctx, number, kind, actor=SUPERVISOR).id,
                            actor=SUPERVISOR)
              for kind in ("supervision_letter", "work_reminder", "public_notice")}
    assert papers["supervision_letter"].title == "关于督促办理社会监督意见的函"
    assert papers["work_reminder"].to == "城关区人民政府主要负责同志"
    assert papers["public_notice"].title == "关于城关区人民政府办理社会监督意见不力的通报"
    assert papers["public_notice"].to == "各有关单位"
    assert "超过办理期限" in "".join(papers["work_reminder"].body)
    assert [NUMBER.match(p.number)["mark"] for p in papers.values()] == ["甘督办", "甘督提", "甘督通"]  # type: ignore[index]


def test_numbers_run_per_office_and_year_and_a_reprint_keeps_its_number(engine) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    first, second = transferred(ctx), transferred(ctx, title="另一件：某小区停水")
    a = issue_document(ctx, first, "transfer_form", actor=DISPATCHER)
    b = issue_document(ctx, second, "transfer_form", actor=DISPATCHER)
    assert (a.number, b.number) == ("甘督交〔2023〕1号", "甘督交〔2023〕2号")
    events = len(_events(ctx, first))
    again = issue_document(ctx, first, "transfer_form", actor=DISPATCHER)
    assert again.number == a.number and again.id == a.id
    assert len(_events(ctx, first)) == events  # a reprint is no new issue
    # A county office numbers its own documents, from 1, with its own mark.
    county = Actor("区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    local = registered(ctx, office_code="GS-LZ-CG", title="区里的一件")
    from duban.services import CaseService

    CaseService(ctx).act(local, "transfer", actor=county, form={"unit": "GS-LZ-CG-SWJ"})
    assert issue_document(ctx, local, "transfer_form", actor=county).number == "城督交〔2023〕1号"
    # A new year starts again from 1.
    advance(ctx, days=100)
    third = transferred(ctx, title="新年的一件")
    assert issue_document(ctx, third, "transfer_form", actor=DISPATCHER).number == "甘督交〔2024〕1号"
    with Session(ctx.engine) as session:
        numbers = [d.number for d in session.exec(select(Document))]
    assert len(numbers) == len(set(numbers)) == 4
    assert all(NUMBER.match(n) for n in numbers)


def test_two_offices_whose_marks_agree_each_number_their_own(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    monkeypatch.setitem(get_documents().marks, "GS-LZ", "城")  # as the county 城关区办's default
    city, county = (Actor("市分流员", "dispatcher", org_id(ctx, "GS-LZ")),
                    Actor("区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG")))
    numbers = []
    for actor, office, unit in ((city, "GS-LZ", "GS-LZ-ZJJ"), (county, "GS-LZ-CG", "GS-LZ-CG-SWJ")):
        number = registered(ctx, office_code=office, title=f"{office}的一件")
        from duban.services import CaseService

        CaseService(ctx).act(number, "transfer", actor=actor, form={"unit": unit})
        numbers.append(issue_document(ctx, number, "transfer_form", actor=actor).number)
    assert numbers == ["城督交〔2023〕1号", "城督交〔2023〕1号"]


def test_issuing_is_an_audit_event_that_covers_the_document_and_the_chain_holds(engine) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    number = transferred(ctx)
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    last = _events(ctx, number)[-1]
    assert last.action == "issue_document" and last.actor == DISPATCHER.name
    assert last.data == {"kind": "transfer_form", "number": issued.number, "to": "GS-LZ-CG-GOV"}
    assert "documents" in last.rows
    assert verify(ctx, workers=1).findings == []
    with Session(ctx.engine) as session:  # a number changed behind the service's back is found
        doc = session.get(Document, issued.id)
        assert doc is not None
        doc.number = "甘督交〔2023〕99号"
        session.add(doc)
        session.commit()
    assert verify(ctx, workers=1).findings != []


def test_a_unit_s_document_names_the_complainant_only_with_consent(engine) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    secret = transferred(ctx, complainant_name="欧阳保密", complainant_phone="19911112222")
    agreed = transferred(ctx, title="同意公开身份的一件", complainant_name="司马同意",
                         complainant_phone="19933334444", complainant_consent=True)
    shown = {}
    for number in (secret, agreed):
        issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
        # Whoever prints it, the unit's copy reads as the unit may read the case.
        for reader in (DISPATCHER, unit_actor(ctx, "GS-LZ-CG-GOV")):
            shown[number, reader.role] = render_document(compose(ctx, number, issued.id, actor=reader))
    for role in ("dispatcher", "unit"):
        assert "欧阳保密" not in shown[secret, role] and "19911112222" not in shown[secret, role]
        assert "司马同意" in shown[agreed, role] and "19933334444" in shown[agreed, role]
    # A 通报 circulates: nobody's identity, consent or not.
    notice = issue_document(ctx, agreed, "public_notice", actor=SUPERVISOR)
    html = render_document(compose(ctx, agreed, notice.id, actor=SUPERVISOR))
    assert "司马同意" not in html and "19933334444" not in html


def test_documents_are_refused_where_they_do_not_apply(engine) -> None:  # type: ignore[no-untyped-def]
    ctx = world(engine)
    waiting = registered(ctx)
    with pytest.raises(ActionNotAllowed):  # no unit to send it to yet
        issue_document(ctx, waiting, "transfer_form", actor=DISPATCHER)
    number = transferred(ctx)
    with pytest.raises(ActionNotAllowed) as refused:  # a 督办函 is for a supervised case
        issue_document(ctx, number, "supervision_letter", actor=DISPATCHER)
    assert refused.value.reason == "督办函须在案件以督办、重点督办、提级直办方式交承办单位后印发"
    with pytest.raises(PermissionDenied):
        issue_document(ctx, number, "transfer_form", actor=CLERK)
    with pytest.raises(InvalidActionInput):
        issue_document(ctx, number, "memo", actor=DISPATCHER)
    other = unit_actor(ctx, "GS-LZ-CG-SWJ")  # a unit the case is not handed to: not found
    with pytest.raises(CaseNotFound):
        issue_document(ctx, number, "transfer_form", actor=other)
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    with pytest.raises(CaseNotFound):
        compose(ctx, number, issued.id, actor=other)
    with pytest.raises(CaseNotFound):  # a document of another case is not this case's
        compose(ctx, transferred(ctx, title="第三件"), issued.id, actor=DISPATCHER)
    assert [d.number for d in documents_of(ctx, number, actor=unit_actor(ctx, "GS-LZ-CG-GOV"))] == [
        issued.number]


def test_dates_are_written_as_documents_write_them() -> None:
    import datetime as dt

    assert cn_date(dt.date(2026, 1, 5)) == "2026年1月5日"
    assert cn_date(dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)) == "2027年1月1日"  # Beijing time
