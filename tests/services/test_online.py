"""The online channel through the service layer: filing as a citizen, following with the query
code, rating the reply once, and a citizen's scope (nothing but the case its code proves)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from duban.config.public import load_public
from duban.errors import (
    ActionNotAllowed,
    AlreadyRated,
    CaseNotFound,
    InvalidActionInput,
    PermissionDenied,
)
from duban.models import AuditEvent, Case, Complainant, QueryCode, ReplyRating
from duban.services import CaseService
from duban.services.integrity import verify
from duban.services.online import CITIZEN_ACTOR, Complaint, file_complaint, rate_reply
from duban.services.queries import scope_for
from duban.services.querycodes import code_hash, shown
from duban.services.reading import case_detail, citizen_case, list_cases, reply_ratings
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, complaint, registered, unit_actor, world

CONFIG = load_public()
NAME, PHONE = "欧阳网民", "13912345678"


def _file(ctx, **overrides):  # type: ignore[no-untyped-def]
    fields = dict(office_code="GS-LZ-CG", category="water", title="小区停水三天无人管",
                  summary=f"我是{NAME}，电话{PHONE}，小区停水三天。", subject_name="城关区水务局",
                  real_name=True, name=NAME, phone=PHONE, consent=False)
    fields.update(overrides)
    return file_complaint(ctx, Complaint(**fields), actor=CITIZEN_ACTOR, config=CONFIG)


def _replied(ctx, number: str) -> None:  # type: ignore[no-untyped-def]
    service = CaseService(ctx)
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": f"已恢复供水，已向{NAME}（{PHONE}）说明。"})
    service.act(number, "approve", actor=SUPERVISOR, form={"note": "内部：经办人王科长核实"})


def test_a_citizen_files_online_and_gets_a_number_and_a_code_kept_only_as_a_hash(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx)
    assert len(filed.code) == 16 and not filed.linked
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.number == filed.number)).one()
        stored = session.exec(select(QueryCode).where(QueryCode.case_id == case.id)).one()
        person = session.get(Complainant, stored.complainant_id)
    assert case.channel == "online" and case.state == "received"
    assert stored.code_hash == code_hash(filed.code) and filed.code not in stored.code_hash
    assert person is not None and person.name == NAME and person.real_name
    assert NAME not in case.summary_redacted and PHONE not in case.summary_redacted  # redacted on the way in
    events = [e.actor_role for e in _events(engine, case.id)]
    assert events == ["citizen"]


def _events(engine, case_id):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                 .order_by(AuditEvent.seq)))


def test_an_anonymous_complaint_keeps_no_name_and_no_consent(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx, real_name=False, consent=True)
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.number == filed.number)).one()
        person = session.get(Complainant, case.complainant_id)
    assert person is not None and (person.name, person.phone, person.real_name, person.consent_disclose) == (
        "", "", False, False)


def test_a_real_name_complaint_needs_name_and_phone_and_texts_have_limits(engine) -> None:
    ctx = world(engine)
    with pytest.raises(InvalidActionInput) as missing:
        _file(ctx, phone="  ")
    assert missing.value.field == "phone"
    with pytest.raises(InvalidActionInput) as long:
        _file(ctx, summary="长" * (CONFIG.lengths.summary + 1))
    assert (long.value.field, long.value.kind) == ("summary", "string_too_long")
    with pytest.raises(InvalidActionInput):
        _file(ctx, office_code="GS-LZ-CG-GOV")  # not a supervising office


def test_a_citizen_registers_only_channel_online(engine) -> None:
    ctx = world(engine)
    with pytest.raises(PermissionDenied):
        CaseService(ctx).register(complaint(), actor=CITIZEN_ACTOR)
    with pytest.raises(InvalidActionInput):
        CaseService(ctx).register(complaint(channel="online", repeat_of="GS-2023-00001"), actor=CITIZEN_ACTOR)


def test_following_with_the_right_code_shows_state_and_dates_only(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx)
    typed = " " + filed.number.lower().replace("-", "－") + " "  # full-width dashes, lower case
    view = citizen_case(ctx, typed, code=shown(filed.code).lower(), actor=CITIZEN_ACTOR)
    assert view["state"] == "received" and view["reply"] is None
    assert view["office"] == "城关区办" and view["received_at"] is not None
    assert set(view) == {"number", "state", "office", "category", "received_at", "dispatched_at",
                         "closed_at", "reply", "rating", "review_next"}
    assert view["review_next"] == "reexamination"  # a level's code, nothing of the case's texts


def test_a_wrong_code_and_an_unknown_number_answer_the_same(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx)
    other = _file(ctx, title="另一件事", summary="路灯不亮")
    answers = []
    for number, code in ((filed.number, "A" * 16), ("GS-LZ-CG-2023-99999", filed.code),
                         (filed.number, other.code), (filed.number, "")):
        with pytest.raises(CaseNotFound) as exc:
            citizen_case(ctx, number, code=code, actor=CITIZEN_ACTOR)
        answers.append(str(exc.value))
    assert len(set(answers)) == 1


def test_the_reply_is_the_approved_reports_redacted_text_and_nothing_internal(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx)
    _replied(ctx, filed.number)
    view = citizen_case(ctx, filed.number, code=filed.code, actor=CITIZEN_ACTOR)
    assert view["state"] == "verified" and view["dispatched_at"] is not None
    assert view["reply"]["text"].startswith("已恢复供水")
    flat = repr(view)
    for hidden in (NAME, PHONE, "王科长", "城关区人民政府", "承办人", "小区停水"):
        assert hidden not in flat


def test_a_reply_is_rated_once_with_an_audit_event_and_shown_to_the_office(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx)
    with pytest.raises(ActionNotAllowed):
        rate_reply(ctx, filed.number, code=filed.code, actor=CITIZEN_ACTOR, rating="satisfied",
                   comment="", config=CONFIG)
    _replied(ctx, filed.number)
    with pytest.raises(CaseNotFound):
        rate_reply(ctx, filed.number, code="B" * 16, actor=CITIZEN_ACTOR, rating="satisfied",
                   comment="", config=CONFIG)
    with pytest.raises(InvalidActionInput):
        rate_reply(ctx, filed.number, code=filed.code, actor=CITIZEN_ACTOR, rating="great",
                   comment="", config=CONFIG)
    rate_reply(ctx, filed.number, code=filed.code, actor=CITIZEN_ACTOR, rating="basically_satisfied",
               comment=f"水来了，{PHONE}可以联系我", config=CONFIG)
    with pytest.raises(AlreadyRated):
        rate_reply(ctx, filed.number, code=filed.code, actor=CITIZEN_ACTOR, rating="unsatisfied",
                   comment="", config=CONFIG)
    view = citizen_case(ctx, filed.number, code=filed.code, actor=CITIZEN_ACTOR)
    assert view["rating"]["rating"] == "basically_satisfied"
    with Session(engine) as session:
        assert len(session.exec(select(ReplyRating)).all()) == 1
        case = session.exec(select(Case).where(Case.number == filed.number)).one()
    events = _events(engine, case.id)
    assert events[-1].action == "rate_reply" and events[-1].data["rating"] == "basically_satisfied"
    assert verify(ctx, case=filed.number, workers=1).findings == []  # the rating row is covered
    # The office reads it on the case page; the unit reads the comment redacted.
    office = reply_ratings(ctx, filed.number, actor=DISPATCHER)
    unit = reply_ratings(ctx, filed.number, actor=unit_actor(ctx, "GS-LZ-CG-GOV"))
    assert office[0]["rating"] == unit[0]["rating"] == "basically_satisfied"
    assert PHONE in office[0]["comment"] and PHONE not in unit[0]["comment"]


def test_a_citizen_actor_reads_no_case_through_any_other_door(engine) -> None:
    ctx = world(engine)
    filed = _file(ctx)
    staff = registered(ctx)
    for number in (filed.number, staff):
        with pytest.raises(CaseNotFound):
            case_detail(ctx, number, actor=CITIZEN_ACTOR)
        with pytest.raises(CaseNotFound):
            reply_ratings(ctx, number, actor=CITIZEN_ACTOR)
        with pytest.raises(CaseNotFound):
            CaseService(ctx).act(number, "transfer", actor=CITIZEN_ACTOR, form={"unit": "GS-LZ-CG-GOV"})
    with Session(engine) as session:
        flt = scope_for(session, CITIZEN_ACTOR)
    assert list_cases(ctx, flt, actor=CITIZEN_ACTOR) == []
    with pytest.raises(CaseNotFound):  # a staff case has no query code
        citizen_case(ctx, staff, code="", actor=CITIZEN_ACTOR)
    with pytest.raises(PermissionDenied):  # the citizen door is for citizens only
        citizen_case(ctx, filed.number, code=filed.code, actor=DISPATCHER)


def test_a_repeat_filed_online_links_into_the_open_case_with_its_own_code(engine) -> None:
    ctx = world(engine)
    first = _file(ctx)
    again = _file(ctx, name="另一位网民", phone="13800001111", summary="我们小区也停水。")
    assert again.linked and again.number == first.number and again.code != first.code
    for code in (first.code, again.code):
        assert citizen_case(ctx, first.number, code=code, actor=CITIZEN_ACTOR)["number"] == first.number
