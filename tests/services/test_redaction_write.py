"""Redacted twins are written with the raw text, in the same transaction, on every write path."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from duban.models import (
    AuditEvent,
    Callback,
    Case,
    Extension,
    HandlingReport,
    Objection,
    RepeatContact,
    Review,
)
from duban.services import CaseService, ServiceContext
from duban.services.audit import append_event
from duban.services.redaction import case_identity
from duban.services.reredact import TWINS, redact_all
from tests.factories import CLERK, DISPATCHER, REPORTED, SUPERVISOR, complaint, transferred, unit_actor, world

MASK = "（保密）"
# What the complainant registers with, and texts that name them in other forms.
WHO = dict(complainant_name="李建国", complainant_phone="136 0931 8888",
           complainant_address="兰州市城关区张掖路168号")
NAMING = "李建国（电话１３６０９３１８８８８）住兰州市城关区 张掖路168号"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def _rows(ctx: ServiceContext, model: Any, number: str) -> list[Any]:
    with Session(ctx.engine) as session:
        case = CaseService(ctx).get(number)
        return list(session.exec(select(model).where(model.case_id == case.id).order_by(model.id)))


def _events(ctx: ServiceContext, number: str, action: str) -> list[AuditEvent]:
    return [e for e in _rows(ctx, AuditEvent, number) if e.action == action]


def test_registering_stores_title_and_summary_redacted_beside_the_raw_text(ctx: ServiceContext) -> None:
    case = CaseService(ctx).register(complaint(title="李建国反映工程款", summary=f"{NAMING}。工程已完工三年",
                                               **WHO), actor=CLERK).case
    with Session(ctx.engine) as session:
        stored = session.exec(select(Case).where(Case.number == case.number)).one()
    assert stored.title == "李建国反映工程款"
    assert stored.title_redacted == f"{MASK}反映工程款"
    assert stored.summary_redacted == f"{MASK}（电话{MASK}）住{MASK}。工程已完工三年"


def test_the_issue_s_summary_reaches_no_unit_unmasked(ctx: ServiceContext) -> None:
    summary = "李先生（手机136 0931 8888，身份证620123198001011234）"
    number = transferred(ctx, summary=summary, complainant_name="李四", complainant_phone="13609318888")
    assert CaseService(ctx).get(number).summary_redacted == f"{MASK}（手机{MASK}，身份证{MASK}）"


def test_every_handler_that_stores_text_stores_its_redacted_twin(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    number = transferred(ctx, **WHO)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    service.act(number, "request_extension", actor=unit, form={"days": 5, "reason": f"需联系{NAMING}"})
    service.act(number, "approve_extension", actor=DISPATCHER, form={"note": "同意，李先生已知悉"})
    service.act(number, "submit_report", actor=unit,
                form={**REPORTED, "text": "已电话联系李建国 13609318888"})
    service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "未回复老李的诉求"})
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已答复李师傅"})
    service.act(number, "approve", actor=SUPERVISOR, form={"note": "李建国诉求已解决"})
    service.act(number, "record_callback", actor=CLERK,
                form={"method": "phone", "result": "unsatisfied",
                      "reason": "李建国称仍未付款，电话0931-8888888", "note": "李师傅要求再核实"})

    assert [e.reason_redacted for e in _rows(ctx, Extension, number)] == [
        f"需联系{MASK}（电话{MASK}）住{MASK}"]
    assert [r.text_redacted for r in _rows(ctx, HandlingReport, number)] == [f"已电话联系{MASK} {MASK}",
                                                                            f"已答复{MASK}"]
    assert [r.reasons_redacted for r in _rows(ctx, Review, number)] == [f"未回复{MASK}的诉求",
                                                                       f"{MASK}诉求已解决"]
    assert [(c.reason_redacted, c.note_redacted) for c in _rows(ctx, Callback, number)] == [
        (f"{MASK}称仍未付款，电话{MASK}", f"{MASK}要求再核实")]
    reasons = {e.action: e.reason_redacted for e in _rows(ctx, AuditEvent, number) if e.reason}
    assert reasons["approve_extension"] == f"同意，{MASK}已知悉"
    assert reasons["send_back"] == f"未回复{MASK}的诉求"
    assert all("李" not in r and "8888" not in r for r in reasons.values())


def test_a_return_request_and_its_decision_store_their_texts_redacted(ctx: ServiceContext) -> None:
    number = transferred(ctx, **WHO)
    CaseService(ctx).act(number, "request_return", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={"reason": "李建国反映的不是本单位职责"})
    CaseService(ctx).act(number, "reject_return", actor=DISPATCHER,
                         form={"reason": "李师傅所反映的正属你单位职责"})
    [row] = _rows(ctx, Objection, number)
    assert (row.reason_redacted, row.decision_note_redacted) == (
        f"{MASK}反映的不是本单位职责", f"{MASK}所反映的正属你单位职责")
    assert _events(ctx, number, "request_return")[0].reason_redacted == f"{MASK}反映的不是本单位职责"
    assert _events(ctx, number, "reject_return")[0].reason_redacted == f"{MASK}所反映的正属你单位职责"


def test_a_structured_report_stores_every_part_redacted(ctx: ServiceContext) -> None:
    number = transferred(ctx, **WHO)
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"), form={
        "text": "已办结", "finding": "partly_true", "actions_taken": "约谈李建国，核实13609318888所说",
        "rectification": "老李家门前管道已更换", "accountability": "对李师傅反映的经办人诫勉谈话"})
    [report] = _rows(ctx, HandlingReport, number)
    assert report.finding == "partly_true"
    assert (report.actions_taken_redacted, report.rectification_redacted, report.accountability_redacted) == (
        f"约谈{MASK}，核实{MASK}所说", f"{MASK}家门前管道已更换", f"对{MASK}反映的经办人诫勉谈话")


def test_a_dispatcher_s_note_is_stored_redacted_in_the_audit_trail(ctx: ServiceContext) -> None:
    number = CaseService(ctx).register(complaint(**WHO), actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER,
                         form={"unit": "GS-LZ-CG-GOV", "note": "请联系王女士 lijianguo@163.com"})
    event = _events(ctx, number, "transfer")[0]
    assert event.reason == "请联系王女士 lijianguo@163.com"
    assert event.reason_redacted == f"请联系{MASK} {MASK}"


def test_an_action_without_text_does_not_load_the_case_identity(ctx: ServiceContext,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import duban.services.audit as audit
    import duban.services.handlers as handlers

    number = transferred(ctx, **WHO)
    loaded: list[int] = []

    def counted(session: Any, case_id: int) -> Any:
        loaded.append(case_id)
        return case_identity(session, case_id)

    monkeypatch.setattr(handlers, "case_identity", counted)
    monkeypatch.setattr(audit, "case_identity", counted)
    CaseService(ctx).act(number, "remind", actor=SUPERVISOR)
    assert loaded == []
    CaseService(ctx).act(number, "remind", actor=SUPERVISOR, form={"note": "请尽快办理"})
    assert len(loaded) == 1  # once for the note and the audit reason alike


def test_an_audit_reason_gets_its_twin_even_when_the_caller_does_not_give_one(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    number = service.register(complaint(**WHO), actor=CLERK).case.number
    with service.transaction() as session:
        case = service.load_in(session, number, for_write=True)
        append_event(session, case, at=ctx.now(), actor="x", actor_role="admin", action="note",
                     from_state=case.state, reason="李建国来电")
    assert _events(ctx, number, "note")[0].reason_redacted == f"{MASK}来电"


def test_a_repeat_complainant_joins_the_identity_and_the_case_is_redacted_again(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    number = transferred(ctx, summary="与邻居赵六一同反映", **WHO)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已联系赵六"})
    service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "赵六的诉求未回应"})
    assert service.get(number).summary_redacted == "与邻居赵六一同反映"  # nobody called 赵六 complained yet

    linked = service.register(complaint(repeat_of=number, title="赵六再次反映", complainant_name="赵六",
                                        complainant_phone="18912345678"), actor=CLERK)
    assert linked.linked
    case = service.get(number)
    assert case.summary_redacted == f"与邻居{MASK}一同反映"
    assert [r.title_redacted for r in _rows(ctx, RepeatContact, number)] == [f"{MASK}再次反映"]
    assert [r.text_redacted for r in _rows(ctx, HandlingReport, number)] == [f"已联系{MASK}"]
    assert _events(ctx, number, "send_back")[0].reason_redacted == f"{MASK}的诉求未回应"
    with Session(ctx.engine) as session:
        assert case_identity(session, case.id).names == ("李建国", "赵六")


def test_an_imported_ledger_row_is_stored_with_its_twins(engine: Engine, tmp_path: Path) -> None:
    from duban.importer import import_file
    from tests.importer.ledger import HEADERS, row

    ctx = world(engine, start="2023-03-10 09:00")
    rows = [row(1, 反映人="马小红", 反映内容="马小红（电话199 0000 0001）反映，住七里河区西津路9号院")]
    path = tmp_path / "ledger.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADERS, "住址"])
        writer.writerow([*[rows[0][h].strftime("%Y/%m/%d %H:%M") if isinstance(rows[0][h], dt.datetime)
                           else rows[0][h] for h in HEADERS], "兰州市七里河区西津路9号院"])
    assert import_file(ctx, path, actor=CLERK).created == 1
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert case.summary_redacted == f"{MASK}（电话{MASK}）反映，住{MASK}"


# -- the batch and the audit trail's one allowed update ------------------------------------------------

def _blank_twins(engine: Engine) -> None:
    """Make every twin empty, as migration 0003 left existing rows (audit trigger set aside)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        for table, pairs in TWINS.items():
            conn.execute(text(f"UPDATE {table} SET " + ", ".join(f"{twin} = ''" for _, twin in pairs)))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def _twins(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    with engine.connect() as conn:
        return {table: [tuple(row) for row in conn.execute(text(
            f"SELECT {', '.join(c for pair in pairs for c in pair)} FROM {table} ORDER BY id"))]
            for table, pairs in TWINS.items()}


def _busy_case(ctx: ServiceContext) -> str:
    service = CaseService(ctx)
    number = transferred(ctx, summary=NAMING, **WHO)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已联系李建国"})
    service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "李先生不满意"})
    service.register(complaint(repeat_of=number, title="赵六再次反映", complainant_name="赵六"), actor=CLERK)
    return number


def test_the_batch_fills_empty_twins_and_a_second_run_changes_nothing(ctx: ServiceContext,
                                                                      engine: Engine) -> None:
    _busy_case(ctx)
    written = _twins(engine)
    _blank_twins(engine)
    first = redact_all(engine, chunk_size=2)
    assert _twins(engine) == written
    assert first.changed["cases"] == 1 and first.changed["audit_events"] == 1
    assert first.total_changed == 5  # case, repeat, report, review, the send_back event
    assert redact_all(engine).total_changed == 0


def test_the_batch_leaves_the_audit_chain_intact(ctx: ServiceContext, engine: Engine) -> None:
    from duban.services.integrity import verify_audit

    _busy_case(ctx)
    _blank_twins(engine)
    redact_all(engine)
    assert verify_audit(ctx)[2] == []


def test_an_audit_event_s_twin_may_be_updated_and_nothing_else(ctx: ServiceContext, engine: Engine) -> None:
    number = _busy_case(ctx)
    case_id = CaseService(ctx).get(number).id
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET reason_redacted = 'x' WHERE case_id = :c"), {"c": case_id})
    # Any real change but the twin's fails (SQLite also refuses a SET of another column to itself).
    for change in ("reason = 'x'", "actor = 'x'", "reason_redacted = 'y', seq = seq + 100",
                   "to_state = 'closed'", "hash = 'x'"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(f"UPDATE audit_events SET {change} WHERE case_id = :c AND reason != ''"),
                         {"c": case_id})
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE case_id = :c"), {"c": case_id})


def test_the_redacted_twins_of_a_case_never_hold_its_complainants(ctx: ServiceContext,
                                                                  engine: Engine) -> None:
    _busy_case(ctx)
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert "李建国" not in case.summary_redacted and "8888" not in case.summary_redacted
