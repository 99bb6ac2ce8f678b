"""Attachments on registration, reports, 复查/复核 and callbacks: checked by content, kept in the
file store, covered by the audit chain, shown per role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from duban.errors import AttachmentRefused, CaseNotFound, ItemNotFound
from duban.present.problems import problem_for
from duban.services import Actor, CaseService, ServiceContext
from duban.services.attachments import Upload, download, list_attachments
from duban.services.filestore import LocalStore
from duban.services.integrity import verify
from tests import filesamples as s
from tests.factories import CLERK, DISPATCHER, REPORTED, SUPERVISOR, complaint, org_id, unit_actor, world

UNIT = "GS-LZ-CG-GOV"


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path) -> ServiceContext:
    ctx = world(engine)
    ctx.files = LocalStore(tmp_path / "files")
    return ctx


def _registered(ctx: ServiceContext, *, consent: bool = False, files: tuple[Upload, ...] = (),
                title: str = "拖欠工程款") -> str:
    data = complaint(complainant_name="张三", complainant_consent=consent, title=title)
    number = CaseService(ctx).register(data, actor=CLERK, files=files).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": UNIT})
    return number


def _events(ctx: ServiceContext, number: str) -> list[dict]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT e.action, e.data, e.rows FROM audit_events e JOIN cases c ON c.id = e.case_id "
            "WHERE c.number = :n ORDER BY e.seq"), {"n": number}).mappings().all()
    return [{"action": r["action"], "rows": r["rows"],
             "data": r["data"] if isinstance(r["data"], dict) else json.loads(r["data"])} for r in rows]


def test_a_pdf_named_jpg_is_kept_as_the_pdf_it_is(ctx: ServiceContext) -> None:
    number = _registered(ctx, files=(Upload("张三来信.jpg", s.PDF),))
    [row] = list_attachments(ctx, number, actor=DISPATCHER)
    assert (row["media_type"], row["size"], row["kind"], row["name"]) == (
        "application/pdf", len(s.PDF), "registration", "张三来信.jpg")
    got = download(ctx, number, row["id"], actor=DISPATCHER)
    assert got.content == s.PDF and not got.inline
    assert got.filename == "张三来信.jpg.pdf"  # saved as what it is, so it opens as a PDF


@pytest.mark.parametrize(("name", "content"), [
    ("公函.pdf", s.EXE), ("照片.png", s.HTML), ("宏.docx", s.ooxml(s.DOCM_MAIN)),
    ("压缩包.xlsx", s.plain_zip()), ("公函.pdf", s.pdf_with(b"/OpenAction << /S /JavaScript /JS (x) >>")),
    ("照片.png", s.png_with(s.HTML)), ("照片.jpg", s.JPEG[:-2])])
def test_a_file_whose_content_is_not_a_taken_type_is_refused_whatever_its_name(
        ctx: ServiceContext, name: str, content: bytes) -> None:
    with pytest.raises(AttachmentRefused) as refused:
        CaseService(ctx).register(complaint(), actor=CLERK, files=(Upload(name, content),))
    problem = problem_for(refused.value, ctx.labels)
    assert (problem.status, problem.field, refused.value.kind) == (422, "attachments", "attachment_type")
    assert "只收PDF、JPEG图片、PNG图片" in problem.message_zh and name not in problem.message_zh
    with ctx.engine.connect() as conn:  # nothing registered
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 0


def test_a_file_over_the_policy_limit_is_refused_and_the_message_says_the_limit(ctx: ServiceContext) -> None:
    ctx.policy.attachments.max_bytes = 1024 * 1024
    big = s.PDF + b"0" * (1024 * 1024)
    with pytest.raises(AttachmentRefused) as refused:
        CaseService(ctx).register(complaint(), actor=CLERK, files=(Upload("大.pdf", big),))
    assert refused.value.kind == "attachment_size"
    assert "不能超过1MB" in problem_for(refused.value, ctx.labels).message_zh
    just = s.PDF + b"0" * (1024 * 1024 - len(s.PDF))
    CaseService(ctx).register(complaint(), actor=CLERK, files=(Upload("正好.pdf", just),))


def test_more_files_than_the_policy_takes_are_refused(ctx: ServiceContext) -> None:
    ctx.policy.attachments.max_files = 2
    with pytest.raises(AttachmentRefused) as refused:
        CaseService(ctx).register(complaint(), actor=CLERK,
                                  files=tuple(Upload(f"{i}.pdf", s.PDF) for i in range(3)))
    assert refused.value.kind == "attachment_count"


def test_an_action_that_takes_no_attachments_refuses_them(ctx: ServiceContext) -> None:
    number = _registered(ctx)
    with pytest.raises(AttachmentRefused) as refused:
        CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, UNIT), files=(Upload("a.pdf", s.PDF),))
    assert refused.value.kind == "attachment_not_here"


def test_a_report_attachment_is_hashed_into_the_event_and_the_chain_verifies(ctx: ServiceContext) -> None:
    number = _registered(ctx)
    unit = unit_actor(ctx, UNIT)
    sheet = s.xlsx()
    CaseService(ctx).act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已处理"},
                         files=(Upload("整改台账.xlsx", sheet), Upload("现场.png", s.png())))
    event = _events(ctx, number)[-1]
    [first, second] = list_attachments(ctx, number, actor=unit)
    assert event["action"] == "submit_report"
    assert event["data"]["attachments"] == [first["sha256"], second["sha256"]]
    assert '"attachments"' in event["rows"]  # the rows, digested, under the event's MAC
    assert (first["kind"], first["media_type"]) == (
        "report", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert ctx.files is not None and ctx.files.get(first["sha256"]) == sheet
    assert verify(ctx).findings == []


def test_changing_an_attachments_hash_in_the_database_breaks_the_chain(ctx: ServiceContext) -> None:
    number = _registered(ctx)
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                         form={**REPORTED, "text": "已处理"}, files=(Upload("进展.pdf", s.PDF),))
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE attachments SET sha256 = :h"), {"h": "0" * 64})
    assert any(f.kind == "row_edited" and "附件" in f.problem for f in verify(ctx).findings)


def test_a_changed_file_in_the_store_is_never_served(ctx: ServiceContext, tmp_path: Path) -> None:
    number = _registered(ctx, files=(Upload("信.pdf", s.PDF),))
    [row] = list_attachments(ctx, number, actor=DISPATCHER)
    stored = tmp_path / "files" / row["sha256"][:2] / row["sha256"]
    assert stored.stat().st_mode & 0o777 == 0o600
    stored.write_bytes(s.PDF + b"% changed")
    from duban.errors import StoredFileLost

    with pytest.raises(StoredFileLost):
        download(ctx, number, row["id"], actor=DISPATCHER)


def test_a_unit_never_sees_the_complainants_letter_without_consent(ctx: ServiceContext) -> None:
    number = _registered(ctx, files=(Upload("张三来信.pdf", s.PDF),))
    unit = unit_actor(ctx, UNIT)
    CaseService(ctx).act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已处理"},
                         files=(Upload("张三家门口.jpg", s.JPEG),))
    letter, photo = list_attachments(ctx, number, actor=DISPATCHER)
    assert [a["id"] for a in list_attachments(ctx, number, actor=unit)] == [photo["id"]]
    with pytest.raises(ItemNotFound):
        download(ctx, number, letter["id"], actor=unit)
    # The report's file is the unit's: everyone on the case reads it, its name redacted for whom
    # may not see who complained.
    [seen_by_supervisor] = [a for a in list_attachments(ctx, number, actor=SUPERVISOR)
                            if a["id"] == photo["id"]]
    assert "张三" not in seen_by_supervisor["name"] and photo["name"] == "张三家门口.jpg"
    assert download(ctx, number, photo["id"], actor=unit).inline  # an image may show in the browser


def test_a_case_page_shows_each_reader_the_attachments_their_own_list_shows(ctx: ServiceContext) -> None:
    from duban.services.reading import case_detail

    number = _registered(ctx, files=(Upload("张三来信.pdf", s.PDF),))
    unit = unit_actor(ctx, UNIT)
    CaseService(ctx).act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已处理"},
                         files=(Upload("张三家门口.jpg", s.JPEG),))
    for reader in (DISPATCHER, unit, SUPERVISOR):
        assert case_detail(ctx, number, actor=reader, page=True)["attachments"] \
            == list_attachments(ctx, number, actor=reader)
    shown = case_detail(ctx, number, actor=unit, page=True)["attachments"]
    assert [a["name"] for a in shown] == ["（保密）家门口.jpg"]  # the letter hidden, the name redacted


def test_with_consent_the_handling_unit_sees_the_letter(ctx: ServiceContext) -> None:
    number = _registered(ctx, consent=True, files=(Upload("张三来信.pdf", s.PDF),))
    [letter] = list_attachments(ctx, number, actor=unit_actor(ctx, UNIT))
    assert letter["name"] == "张三来信.pdf"
    assert download(ctx, number, letter["id"], actor=unit_actor(ctx, UNIT)).content == s.PDF
    other = Actor("别的单位", "unit", org_id(ctx, "GS-LZ-CG-SWJ"))
    with pytest.raises(CaseNotFound):  # out of scope: not found, attachments or not
        list_attachments(ctx, number, actor=other)
    with pytest.raises(CaseNotFound):
        download(ctx, number, letter["id"], actor=other)


def test_an_attachment_of_another_case_is_not_found_through_this_one(ctx: ServiceContext) -> None:
    first = _registered(ctx, files=(Upload("一.pdf", s.PDF),))
    second = _registered(ctx, title="另一件事")
    [row] = list_attachments(ctx, first, actor=DISPATCHER)
    with pytest.raises(ItemNotFound):
        download(ctx, second, row["id"], actor=DISPATCHER)


def test_callback_and_review_files_belong_to_their_records(ctx: ServiceContext) -> None:
    number = _registered(ctx)
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": "已处理"})
    service.act(number, "approve", actor=SUPERVISOR, form={"note": "同意"})
    service.act(number, "record_callback", actor=CLERK,
                form={"method": "phone", "result": "satisfied"}, files=(Upload("录音记录.pdf", s.PDF),))
    kinds = [(a["kind"], a["identity"]) for a in list_attachments(ctx, number, actor=DISPATCHER)]
    assert kinds == [("callback", True)]
    assert list_attachments(ctx, number, actor=unit_actor(ctx, UNIT)) == []


def test_a_request_for_reexamination_carries_the_complainants_papers(ctx: ServiceContext) -> None:
    number = _registered(ctx)
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": "已处理"})
    service.act(number, "approve", actor=SUPERVISOR, form={"note": "同意"})
    service.act(number, "request_reexamination", actor=DISPATCHER, form={"reason": "不满意"},
                files=(Upload("复查申请书.pdf", s.PDF),))
    rows = list_attachments(ctx, number, actor=DISPATCHER)
    assert [(r["kind"], r["identity"], r["action"]) for r in rows] == [
        ("review", True, "request_reexamination")]
    assert list_attachments(ctx, number, actor=SUPERVISOR) == []  # the complainant's own request


@pytest.mark.parametrize("name", ["..", ".", "...", " . ", "\u3000.\u3000", "\u202e.", "C:\\docs\\..",
                                  "/etc/.."])
def test_a_name_that_is_only_dots_or_blanks_is_refused(ctx: ServiceContext, name: str) -> None:
    """`..` is no file's name: saved as `...pdf` it would hide on the reader's computer, and to a
    program that joins it to a folder it is the folder above."""
    with pytest.raises(AttachmentRefused) as refused:
        CaseService(ctx).register(complaint(), actor=CLERK, files=(Upload(name, s.PDF),))
    assert refused.value.kind == "attachment_name"


def test_a_name_keeps_no_line_or_paragraph_separator(ctx: ServiceContext) -> None:
    number = _registered(ctx, files=(Upload("来信\u2028第一页\u2029.pdf", s.PDF),))
    [row] = list_attachments(ctx, number, actor=DISPATCHER)
    assert row["name"] == "来信第一页.pdf"
