"""The one door for reading (duban.services.reading): what each reader's statements select, what a
search can tell, and that out of scope is "not found"."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, select, update
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.config.policy import Privacy
from duban.errors import CaseNotFound
from duban.models import Case, HandlingReport, Notification
from duban.reports import build_board, build_report, parse_period
from duban.reports.export import export_rows
from duban.services import Actor, CaseService, ServiceContext
from duban.services.callbacks import callback_queue, sample_callbacks
from duban.services.dashboard import dashboard
from duban.services.queries import CaseFilter, scope_for
from duban.services.reading import (
    case_detail,
    case_history,
    case_row,
    case_summary,
    case_texts,
    list_cases,
    reply_ratings,
    scope,
    still_sees,
)
from duban.services.sweeps import run_deadline_sweep
from tests.factories import (
    CLERK,
    DISPATCHER,
    LEADER,
    REPORTED,
    SUPERVISOR,
    complaint,
    org_id,
    unit_actor,
    world,
)

NAME, PHONE = "欧阳秘密", "19912345678"
TITLE = f"{NAME}反映城关区住建局拖欠工程款"
SUMMARY = f"{NAME}（电话{PHONE}）称尾款未付，100%_未结清。"
TITLE_REDACTED = "（保密）反映城关区住建局拖欠工程款"
SUMMARY_REDACTED = "（保密）（电话（保密））称尾款未付，100%_未结清。"

# Every raw text and identity column: a reader without the right never names one in a statement.
RAW = {"cases": ("title", "summary"), "repeat_contacts": ("title",),
       "handling_reports": ("text", "actions_taken", "rectification", "accountability"),
       "reviews": ("reasons",), "callbacks": ("note", "reason"), "extensions": ("reason", "decision_note"),
       "objections": ("reason", "decision_note"), "interviews": ("note",), "audit_events": ("reason",),
       "pressure_proposals": ("reason",), "attachments": ("name",), "declines": ("note",),
       "referrals": ("outcome_note",), "review_requests": ("reason", "note"), "reply_ratings": ("comment",),
       "complainants": ("name", "phone", "address")}
RAW_COLUMN = re.compile("|".join(rf'"?\b{table}"?\."?{column}\b"?(?!_)'
                                 for table, columns in RAW.items() for column in columns))


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


def test_the_census_names_every_column_that_has_a_redacted_twin() -> None:
    from sqlmodel import SQLModel

    twins = {(table.name, column.name.removesuffix("_redacted")) for table in SQLModel.metadata.sorted_tables
             for column in table.c if column.name.endswith("_redacted")}
    assert twins and twins <= {(table, column) for table, columns in RAW.items() for column in columns}


def _secret_case(ctx: ServiceContext, **overrides: object) -> str:
    """A case naming its complainant everywhere, handed to 城关区人民政府, with a report and its
    redacted twins written as the write path writes them."""
    service = CaseService(ctx)
    number = service.register(complaint(title=TITLE, summary=SUMMARY, complainant_name=NAME,
                                        complainant_phone=PHONE, **overrides), actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": f"已联系{NAME}"})
    with Session(ctx.engine) as session:
        session.execute(update(Case).where(Case.number == number)  # type: ignore[arg-type]
                        .values(title_redacted=TITLE_REDACTED, summary_redacted=SUMMARY_REDACTED))
        case_id = session.execute(Case.__table__.select().where(Case.number == number)).one().id  # type: ignore[attr-defined]
        session.execute(update(HandlingReport).where(HandlingReport.case_id == case_id)  # type: ignore[arg-type]
                        .values(text_redacted="已联系（保密）"))
        session.commit()
    return number


@contextmanager
def statements(ctx: ServiceContext) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)


def _every_door(ctx: ServiceContext, actor: Actor, number: str, in_hand: Case) -> None:
    """Read the case through every door a face uses, as `actor`."""
    with Session(ctx.engine) as session:
        flt = scope_for(session, actor)
    for text in (None, NAME, PHONE, "保密", "%", "_"):
        flt.text = text
        list_cases(ctx, flt, actor=actor)
    flt.text = None
    case_detail(ctx, number, actor=actor, history=50)
    case_detail(ctx, number, actor=actor)
    case_detail(ctx, number, actor=actor, history=50, avoided=True, page=True)
    for kind in ("timeline", "reports"):
        case_history(ctx, number, kind, actor=actor, limit=10)
    case_summary(ctx, number, actor=actor)
    case_row(ctx, in_hand, actor=actor)
    export_rows(ctx, flt, actor=actor)
    dashboard(ctx, actor)
    callback_queue(ctx, actor=actor)
    with Session(ctx.engine) as session:
        case_texts(session, ctx, [1], actor=actor)


def test_a_case_page_lets_its_reader_into_the_case_once_and_reads_what_the_single_doors_give(
        ctx: ServiceContext) -> None:
    from duban.services.attachments import list_attachments

    number = _secret_case(ctx)
    for reader in (DISPATCHER, unit_actor(ctx, "GS-LZ-CG-GOV")):
        with statements(ctx) as seen:
            page = case_detail(ctx, number, actor=reader, history=50, avoided=True, page=True)
        assert sum("FROM cases" in s and "cases.number =" in s for s in seen) == 1
        assert page["ratings"] == reply_ratings(ctx, number, actor=reader)
        assert page["attachments"] == list_attachments(ctx, number, actor=reader)


def test_a_reader_without_the_right_never_selects_a_raw_text_or_identity_column(ctx: ServiceContext,
                                                                               tmp_path: Path) -> None:
    number = _secret_case(ctx)
    county = Actor("县分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))  # another office, in whose region
    readers = [unit_actor(ctx, "GS-LZ-CG-GOV"), Actor("领导", "leader", org_id(ctx, "GS")), county,
               Actor("审核员", "supervisor", org_id(ctx, "GS"))]
    in_hand = CaseService(ctx).get(number)
    for actor in readers:
        with statements(ctx) as seen:
            _every_door(ctx, actor, number, in_hand)
        assert len(seen) > 20
        named = [s for s in seen if RAW_COLUMN.search(s)]
        assert named == [], (actor, named[:3])
    with statements(ctx) as seen:  # reports and the board are read by leaders, for every reader
        build_report(ctx, parse_period("2023-09"), "GS")
        build_board(ctx, "GS")
    assert [s for s in seen if RAW_COLUMN.search(s)] == []


def test_the_receiving_office_reads_the_raw_texts_and_the_recorder_would_see_them(ctx: ServiceContext,
                                                                                  tmp_path: Path) -> None:
    number = _secret_case(ctx)
    office = Actor("省分流员", "dispatcher", org_id(ctx, "GS"))
    with statements(ctx) as seen:
        detail = case_detail(ctx, number, actor=office)
    assert any(RAW_COLUMN.search(s) for s in seen)  # the check above can fail
    assert detail["case"]["title"] == TITLE and detail["complainant"]["phone"] == PHONE
    assert detail["reports"][0]["text"] == f"已联系{NAME}"


def test_every_door_shows_a_unit_the_redacted_texts(ctx: ServiceContext) -> None:
    number = _secret_case(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    detail = case_detail(ctx, number, actor=unit)
    assert (detail["case"]["title"], detail["case"]["summary"]) == (TITLE_REDACTED, SUMMARY_REDACTED)
    assert detail["reports"][0]["text"] == "已联系（保密）"
    assert "text_redacted" not in detail["reports"][0] and "title_redacted" not in detail["case"]
    assert detail["complainant"] == {"name": "（保密）", "phone": "（保密）", "email": "（保密）",
                                     "real_name": True, "visible": False}
    assert case_summary(ctx, number, actor=unit)["case"]["title"] == TITLE_REDACTED
    assert list_cases(ctx, CaseFilter(unit_id=unit.org_id), actor=unit)[0].title == TITLE_REDACTED
    assert NAME not in repr(export_rows(ctx, CaseFilter(unit_id=unit.org_id), actor=unit))
    assert NAME not in repr(case_history(ctx, number, "reports", actor=unit, limit=5))


def test_consent_shows_the_unit_its_own_case_in_full_but_not_in_a_file(ctx: ServiceContext) -> None:
    number = _secret_case(ctx, complainant_consent=True)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    detail = case_detail(ctx, number, actor=unit)
    assert detail["case"]["title"] == TITLE and detail["complainant"]["name"] == NAME
    _, rows = export_rows(ctx, CaseFilter(unit_id=unit.org_id), actor=unit)
    assert NAME not in repr(rows) and TITLE_REDACTED in repr(rows)
    other = unit_actor(ctx, "GS-LZ-CG-SWJ")
    with pytest.raises(CaseNotFound):
        case_detail(ctx, number, actor=other)


def test_the_readers_of_a_case_s_other_rows_leave_its_raw_texts_unread_even_for_who_may_see_them(
        ctx: ServiceContext) -> None:
    """Its ratings, attachments, documents, a page of its history, whether one still sees it:
    none shows the case's title or summary, so none reads the raw ones (a statement each saved);
    what they show of their own rows still follows who may see the complainant."""
    from duban.services.attachments import list_attachments
    from duban.services.documents import documents_of

    number = _secret_case(ctx)
    office = Actor("省受理员", "clerk", org_id(ctx, "GS"))
    assert case_detail(ctx, number, actor=office)["case"]["title"] == TITLE  # they may see them
    raw_case_text = re.compile(r'"?\bcases"?\."?(title|summary)\b"?(?!_)')
    with statements(ctx) as seen:
        reports = case_history(ctx, number, "reports", actor=office, limit=5)
        case_history(ctx, number, "timeline", actor=office, limit=5)
        reply_ratings(ctx, number, actor=office)
        list_attachments(ctx, number, actor=office)
        documents_of(ctx, number, actor=office)
        assert still_sees(ctx, number, actor=office)
    assert seen and not [s for s in seen if raw_case_text.search(s)]
    assert NAME in repr(reports[0])  # the report's own text as written: the office may see it


def test_a_case_s_timeline_is_read_without_the_audit_chain_s_columns(ctx: ServiceContext) -> None:
    """The page, the API's answer and its pages show each event's step, not its place in the
    chain (hashes, key, sealed facts and row digests: `duban audit verify` reads those)."""
    number = _secret_case(ctx)
    office = Actor("省受理员", "clerk", org_id(ctx, "GS"))
    chain = re.compile(r'"?\baudit_events"?\."?(prev_hash|hash|alg|key_id|facts|rows)\b')
    with statements(ctx) as seen:
        detail = case_detail(ctx, number, actor=office)
        case_detail(ctx, number, actor=office, history=2)
        events, _ = case_history(ctx, number, "timeline", actor=office, limit=5)
    assert seen and not [s for s in seen if chain.search(s)]
    shown = {"seq", "at", "actor", "actor_role", "action", "from_state", "to_state", "reason", "data"}
    assert events and all(shown <= set(e) for e in [*events, *detail["timeline"]])


def _found(ctx: ServiceContext, actor: Actor, text: str) -> list[str]:
    with Session(ctx.engine) as session:
        flt = scope_for(session, actor)
    flt.text = text
    return [r.number for r in list_cases(ctx, flt, actor=actor)]


def test_a_units_search_is_no_oracle_for_the_complainants_name_length_surname_or_phone(
        ctx: ServiceContext) -> None:
    number = _secret_case(ctx)
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    assert _found(ctx, unit, "拖欠工程款") == [number]  # the unit does see the case
    # The three requests that told the name's length, the surname and who called.
    for probe in ("____反映", "欧阳%", "欧阳", PHONE, NAME, "1991234", "%欧阳%", "欧_秘"):
        assert _found(ctx, unit, probe) == [], probe
    for reader in (LEADER, SUPERVISOR, Actor("县分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))):
        assert _found(ctx, reader, NAME) == [] and _found(ctx, reader, PHONE) == []


def test_the_receiving_office_finds_a_case_by_the_complainants_name_or_phone(ctx: ServiceContext) -> None:
    number = _secret_case(ctx)
    office = Actor("省受理员", "clerk", org_id(ctx, "GS"))
    assert _found(ctx, office, NAME) == [number]
    assert _found(ctx, office, PHONE[3:9]) == [number]


def test_like_wildcards_in_a_search_are_literal(ctx: ServiceContext) -> None:
    number = _secret_case(ctx)
    plain = CaseService(ctx).register(complaint(title="普通的反映", subject_name="另一个", summary="无"),
                                      actor=CLERK).case.number
    with Session(ctx.engine) as session:
        session.execute(update(Case).where(Case.number == plain)  # type: ignore[arg-type]
                        .values(title_redacted="普通的反映", summary_redacted="无"))
        session.commit()
    for reader in (DISPATCHER, LEADER):
        assert _found(ctx, reader, "%") == [number]
        assert _found(ctx, reader, "_") == [number]
        assert _found(ctx, reader, "0%_") == [number]
        assert _found(ctx, reader, "普_的") == []
        assert _found(ctx, reader, "普通%反映") == []
        assert _found(ctx, reader, "/") == []
        assert _found(ctx, reader, "普通") == [plain]


def test_a_units_mail_is_composed_from_what_the_unit_may_see_note_included(ctx: ServiceContext) -> None:
    """催办 by hand: the dispatcher's note names the complainant; the unit's mail masks it."""
    number = CaseService(ctx).register(complaint(title=TITLE, summary=SUMMARY, complainant_name=NAME,
                                                 complainant_phone=PHONE), actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    CaseService(ctx).act(number, "remind", actor=DISPATCHER,
                         form={"note": f"请尽快联系{NAME}，电话 199 1234 5678"})
    with Session(ctx.engine) as session:
        mails = session.execute(select(Notification.audience, Notification.subject, Notification.body)
                                .where(Notification.kind == "remind")).all()
    assert mails
    for _, subject, body in mails:
        assert number in subject + body
        for secret in (NAME, PHONE, "199 1234 5678", "欧阳"):
            assert secret not in subject + body, body
        assert "请尽快联系（保密）" in body and "（保密）反映城关区住建局拖欠工程款" in body


def _handed_to_a_unit(ctx: ServiceContext) -> str:
    number = CaseService(ctx).register(complaint(title=TITLE, summary=SUMMARY, complainant_name=NAME,
                                                 complainant_phone=PHONE), actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    return number


def _overdue_sweeps(ctx: ServiceContext) -> None:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    day = dt.date(2023, 10, 20)
    while day <= dt.date(2023, 11, 30):  # one ladder step a day: every audience gets its mail
        clock.set(parse_local(f"{day} 08:30"))
        run_deadline_sweep(ctx)
        day += dt.timedelta(days=1)
    sample_callbacks(ctx)


def test_the_engines_mail_names_the_complainant_to_the_office_only(ctx: ServiceContext) -> None:
    ctx.policy = ctx.policy.model_copy(deep=True)
    for step in ctx.policy.ladder.steps:  # 约谈 fired by the engine: the office gets its mail
        step.mode = "automatic"
    _handed_to_a_unit(ctx)
    _overdue_sweeps(ctx)
    with Session(ctx.engine) as session:
        mails = session.execute(select(Notification.audience, Notification.body)).all()
    assert {"unit", "unit_head", "government", "office"} <= {audience for audience, _ in mails}
    for audience, body in mails:
        assert (NAME in body) is (audience == "office"), (audience, body)


def test_the_engine_writing_to_units_and_governments_never_selects_a_raw_text(ctx: ServiceContext) -> None:
    # Nobody may see identity here, so every mail is composed for a reader without the right.
    ctx.policy = ctx.policy.model_copy(update={"privacy": Privacy(identity_roles=[], consent_roles=[])})
    _handed_to_a_unit(ctx)
    with statements(ctx) as seen:
        _overdue_sweeps(ctx)
    # Redacting a text as it is written needs the identity it cuts out (duban.services.redaction):
    # that one statement, the writer's, is the only one that may name the complainant.
    redactor = "UNION SELECT repeat_contacts.complainant_id"
    named = [s for s in seen if RAW_COLUMN.search(s) and redactor not in s]
    assert len(seen) > 20 and named == []
    with Session(ctx.engine) as session:
        bodies = session.execute(select(Notification.body)).scalars().all()
    assert bodies and all(NAME not in body and PHONE not in body for body in bodies)


def test_a_units_actions_read_no_raw_text_of_the_case(ctx: ServiceContext) -> None:
    """An action loads its case without title and summary (persist.WRITE_COLUMNS), and answers
    through the door: a unit acting on its own case sends no statement that reads them. (The
    write path does read the complainants' identity, to cut it out of the text the unit writes.)"""
    number = _secret_case(ctx)
    service, unit = CaseService(ctx), unit_actor(ctx, "GS-LZ-CG-GOV")
    service.act(number, "send_back", actor=Actor("审核员", "supervisor"), form={"reasons": "不实"})
    case_text = re.compile(r'"?\bcases"?\."?(title|summary)\b"?(?!_)')
    with statements(ctx) as seen:
        service.act(number, "request_extension", actor=unit, form={"days": 3, "reason": "需要时间"})
        service.act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已办结"})
        answer = case_summary(ctx, number, actor=unit)
    assert seen and [s for s in seen if case_text.search(s)] == []
    assert answer["case"]["title"] == TITLE_REDACTED


def test_a_face_asks_the_service_whether_its_actor_still_sees_a_case_and_for_its_scope(
        ctx: ServiceContext) -> None:
    number = _secret_case(ctx)
    unit, other = unit_actor(ctx, "GS-LZ-CG-GOV"), unit_actor(ctx, "GS-LZ-CG-SWJ")
    assert still_sees(ctx, number, actor=unit) and still_sees(ctx, number, actor=DISPATCHER)
    assert not still_sees(ctx, number, actor=other)  # out of scope: as if there were no such case
    assert not still_sees(ctx, "GS-2099-99999", actor=DISPATCHER)
    assert scope(ctx, actor=other).unit_id == other.org_id
    assert [r.number for r in list_cases(ctx, scope(ctx, actor=other), actor=other)] == []
    assert [r.number for r in list_cases(ctx, scope(ctx, actor=unit), actor=unit)] == [number]


def _collection_row(table, i: int, *, case_id: int, seq: int, org: int, report: int | None,  # type: ignore[no-untyped-def]
                    complainant: int | None = None) -> dict:
    """A row of every column of `table`, its values varied by `i`: times with and without a
    fraction of a second, NULL wherever the column allows it on odd rows, texts with quotes,
    backslashes, line breaks, control characters and an emoji (what JSON must carry back)."""
    from sqlalchemy import JSON, Boolean, Date, Integer

    from duban.models.base import UTCDateTime
    row: dict = {}
    for column in table.c:
        name, kind = column.name, type(column.type)
        fk = {fk.column.table.name for fk in column.foreign_keys}
        if name == "id":
            continue
        if column.nullable and i % 2:
            row[name] = None
        elif name == "case_id":
            row[name] = case_id
        elif name == "seq":
            row[name] = seq
        elif "orgs" in fk:
            row[name] = org
        elif "handling_reports" in fk:
            row[name] = report
        elif "complainants" in fk:
            row[name] = complainant
        elif name == "action":
            row[name] = ("refer", "transfer", "remind")[i % 3]  # one a referral step (`hide`)
        elif kind is UTCDateTime:
            row[name] = dt.datetime(2023, 3, 1 + i, 2 + i, 5, 7, 123456 * (i % 2), tzinfo=dt.UTC)
        elif kind is Date:
            row[name] = dt.date(2023, 4, 1 + i)
        elif kind is Boolean:
            row[name] = i % 3 == 0
        elif kind is Integer:
            row[name] = 10 * i + 3
        elif kind is JSON:
            row[name] = {"理由": f"第{i}次", "list": [1, 2.5, None, True], "nested": {"k": "a\"b\\c"}}
        else:
            words = f"'\"\\\n\t\x1f😀{i}{name}"
            row[name] = words[:getattr(column.type, "length", None) or len(words)]
    return row


def _types(reads: dict[str, list[dict]]) -> list[list[dict[str, type]]]:
    return [[{k: type(v) for k, v in row.items()} for row in rows] for rows in reads.values()]


def test_a_case_page_s_reads_in_one_statement_are_the_rows_of_one_statement_each(ctx) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL reads a case page's eight collections, its subject, first complainant, raw
    texts, ratings and attachments by one statement of JSON arrays (reading._histories): each
    must be, value for value and type for type, what that read's own statement reads
    (reading._one_each, SQLite's way), for every reader's columns and bounds."""
    from sqlalchemy import text as sql_text

    from duban.models import Attachment, ReplyRating
    from duban.services.reading import HISTORY, _histories, _one_each

    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads each by its own statement: nothing else to compare")
    number = _secret_case(ctx)
    unit = org_id(ctx, "GS-LZ-CG-GOV")
    with Session(ctx.engine) as session:
        case = session.execute(select(Case.id, Case.audit_seq, Case.complainant_id)  # type: ignore[call-overload]
                               .where(Case.number == number)).one()
        report = session.execute(select(HandlingReport.id)  # type: ignore[call-overload]
                                 .where(HandlingReport.case_id == case.id)).scalars().first()
        seq = case.audit_seq
        for model, _ in HISTORY.values():
            table = model.__table__
            for i in range(4):
                seq += 1
                session.execute(table.insert().values(_collection_row(
                    table, i, case_id=case.id, seq=seq, org=unit, report=report)))
        reports = session.execute(select(HandlingReport.id)  # type: ignore[call-overload]
                                  .where(HandlingReport.case_id == case.id)).scalars().all()
        for model in (ReplyRating, Attachment):  # a rating per report; attachments, some of identity
            table = model.__table__  # type: ignore[attr-defined]
            for i in range(4):
                session.execute(table.insert().values(_collection_row(
                    table, i, case_id=case.id, seq=0, org=unit, report=reports[i],
                    complainant=case.complainant_id)))
        session.commit()
        # A server whose time zone is not UTC writes JSON's times with its offset: read back in UTC
        # all the same, as models.base.UTCDateTime reads every time.
        session.execute(sql_text("SET TIME ZONE 'Asia/Shanghai'"))
        for raw in (True, False):
            for hide in (True, False):
                for history in (None, 2):
                    for page in (True, False):
                        want = _one_each(session, case.id, raw=raw, history=history, hide=hide, page=page)
                        got = _histories(session, case.id, raw=raw, history=history, hide=hide, page=page)
                        assert set(want) >= {*HISTORY, "subject", "person"}
                        assert ("ratings" in want, "attachments" in want) == (page, page)
                        assert ("texts" in want) == raw
                        assert all(len(rows) >= 2 for kind, rows in want.items() if kind in HISTORY), want
                        assert all(len(rows) == 1 for kind, rows in want.items()
                                   if kind in ("subject", "person", "texts"))
                        if page:  # without the right, the complainant's own papers are left out
                            assert len(want["ratings"]) == 4
                            assert len(want["attachments"]) == (4 if raw else 2)
                        assert got == want, (raw, hide, history, page)
                        assert _types(got) == _types(want)
                        times = [v for rows in got.values() for row in rows for v in row.values()
                                 if isinstance(v, dt.datetime)]
                        assert times and all(v.tzinfo is dt.UTC for v in times)


def test_a_case_s_page_and_answer_let_postgresql_reuse_plans_and_other_reads_do_not(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """A case's page and an action's answer find every row by a key: their transaction may reuse
    kept plans (driver.keyed). Other reads (a list, a search) are planned for their values."""
    from sqlalchemy import func

    from duban.services import reading
    from duban.services.driver import Prepared

    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    mode = Prepared(select(func.current_setting("plan_cache_mode")))
    seen: list[str] = []
    door = reading.load_case

    def load_case(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(mode.scalar(session))  # the transaction's first statement
        return door(session, *args, **kwargs)

    monkeypatch.setattr(reading, "load_case", load_case)
    number = _secret_case(ctx)
    case_detail(ctx, number, actor=DISPATCHER, page=True)
    case_detail(ctx, number, actor=unit_actor(ctx, "GS-LZ-CG-GOV"), history=50)
    case_summary(ctx, number, actor=DISPATCHER)
    still_sees(ctx, number, actor=DISPATCHER)  # a session of its own, not keyed
    assert seen == ["auto", "auto", "auto", "force_custom_plan"]
    with Session(ctx.engine) as session:
        assert mode.scalar(session) == "force_custom_plan"  # SET LOCAL ended with its transaction
