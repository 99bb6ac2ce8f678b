"""Official documents against odd and hostile case text, two documents issued at once, and a
reader outside the case's scope."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy.engine import Engine

from duban.errors import CaseNotFound
from duban.reports.documents import render_document
from duban.services import ServiceContext
from duban.services.context import Actor
from duban.services.documents import compose, documents_of, issue_document
from tests.factories import DISPATCHER, org_id, transferred, unit_actor, world

HOSTILE_TITLE = '<script>alert("x")</script>拖欠工程款</td></tr><img src=x onerror=alert(1)>'
RARE = "𪚥𠀀供水🚰"  # CJK Ext-B and an emoji: outside the BMP


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def test_hostile_and_rare_case_text_is_escaped_and_kept_whole_in_the_document(ctx: ServiceContext) -> None:
    long_token = "A" * 300  # no place to break a line: must wrap, not run off the page
    summary = f"第一行\n第二行{RARE}\n{long_token}\n" + "长" * 3000
    number = transferred(ctx, title=HOSTILE_TITLE, summary=summary)
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    html = render_document(compose(ctx, number, issued.id, actor=DISPATCHER))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "onerror=alert(1)&gt;" in html
    assert RARE in html and long_token in html and "长" * 3000 in html
    assert "第一行\n第二行" in html
    cells = re.findall(r"<td([^>]*)>([^<]*)</td>", html)
    for attrs, text in cells:
        if "\n" in text or len(text) > 40:
            assert 'class="long"' in attrs, text[:20]
    style = html.split("<style", 1)[1].split("</style>", 1)[0]
    # A word longer than the line breaks anywhere (the cell's min-content width with it, so the
    # table stays inside the 版心 and the PDF loses nothing).
    assert re.search(r"\n\.sheet\s*\{[^}]*overflow-wrap:\s*anywhere", style)


def test_a_short_summary_with_line_breaks_keeps_them_on_paper(ctx: ServiceContext) -> None:
    number = transferred(ctx, summary="一、停水三天\n二、无人答复")
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    html = render_document(compose(ctx, number, issued.id, actor=DISPATCHER))
    (attrs,) = [a for a, text in re.findall(r"<td([^>]*)>([^<]*)</td>", html) if "停水三天" in text]
    assert 'class="long"' in attrs


def test_the_complainant_named_in_the_case_text_is_cut_from_the_unit_s_document(ctx: ServiceContext) -> None:
    number = transferred(ctx, complainant_name="欧阳保密", complainant_phone="19911112222",
                         title="欧阳保密反映工程款被拖欠",
                         summary="我叫欧阳保密，电话19911112222，工程款至今未付。")
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    for reader in (DISPATCHER, unit_actor(ctx, "GS-LZ-CG-GOV")):
        html = render_document(compose(ctx, number, issued.id, actor=reader))
        assert "欧阳保密" not in html and "19911112222" not in html


def test_two_documents_issued_at_once_never_share_a_number(ctx: ServiceContext) -> None:
    numbers = [transferred(ctx, title=f"同时发文第{i}件", subject_name=f"对象{i}", subject_org_code=None)
               for i in range(6)]
    start = threading.Barrier(len(numbers))
    issued: list[str] = []
    failed: list[BaseException] = []

    def issue(number: str) -> None:
        start.wait()
        try:
            issued.append(issue_document(ctx, number, "transfer_form", actor=DISPATCHER).number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    threads = [threading.Thread(target=issue, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    assert len(set(issued)) == len(numbers), issued


def test_a_document_of_a_case_out_of_scope_is_not_found_like_a_number_nobody_has(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    outsider = Actor("临夏督办员", "dispatcher", org_id(ctx, "GS-LX"))
    other_unit = unit_actor(ctx, "GS-LZ-CG-SWJ")
    for reader in (outsider, other_unit):
        answers = []
        for ref in (number, "GS-2023-99999"):
            for call in (compose_as, documents_as, issue_as):
                with pytest.raises(CaseNotFound) as refused:
                    call(ctx, ref, issued.id, reader)
                answers.append(str(refused.value).replace(ref, "N"))
        assert answers[:3] == answers[3:], reader


def compose_as(ctx: ServiceContext, ref: str, document_id: int, reader: Actor) -> object:
    return compose(ctx, ref, document_id, actor=reader)


def documents_as(ctx: ServiceContext, ref: str, document_id: int, reader: Actor) -> object:
    return documents_of(ctx, ref, actor=reader)


def issue_as(ctx: ServiceContext, ref: str, document_id: int, reader: Actor) -> object:
    return issue_document(ctx, ref, "transfer_form", actor=reader)


def test_a_word_longer_than_the_line_prints_whole_in_the_pdf(ctx: ServiceContext) -> None:
    from duban.reports.documents import document_pdf
    from tests.web.test_document_pages import _pdf_text

    token = "".join(f"X{i:03d}" for i in range(60))  # 240 characters and nowhere to break
    number = transferred(ctx, summary=f"附件链接：{token}，请核查。")
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    pdf = document_pdf(compose(ctx, number, issued.id, actor=DISPATCHER))
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    assert token in "".join(text.split())


def test_the_same_document_asked_twice_at_once_is_issued_once(ctx: ServiceContext) -> None:
    number = transferred(ctx)
    start = threading.Barrier(2)
    issued: list[str] = []

    def click() -> None:
        start.wait()
        issued.append(issue_document(ctx, number, "transfer_form", actor=DISPATCHER).number)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(issued) == 2 and len(set(issued)) == 1
    assert len(documents_of(ctx, number, actor=DISPATCHER)) == 1


def test_a_control_character_in_the_case_text_does_not_reach_the_page(ctx: ServiceContext) -> None:
    number = transferred(ctx, title="拖欠\x07工程款\x1b[31m", summary="第一段\x0b第二段\u202e倒序")
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    html = render_document(compose(ctx, number, issued.id, actor=DISPATCHER))
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]", html)
    assert "工程款" in html and "第二段" in html


def test_the_longest_title_and_summary_print_whole_over_several_pages(ctx: ServiceContext) -> None:
    from duban.reports.documents import document_pdf
    from tests.web.test_document_pages import _pdf_text

    title = "标题开头" + "题" * 190 + "标题结尾"  # 198 characters: the form allows 200
    paragraphs = [f"第{i}段开始" + "某村饮水困难问题反映情况" * 60 + f"第{i}段结束" for i in range(25)]
    summary = "\n".join(paragraphs)[:20000]  # the form allows 20,000 characters
    number = transferred(ctx, title=title, summary=summary)
    issued = issue_document(ctx, number, "transfer_form", actor=DISPATCHER)
    pdf = document_pdf(compose(ctx, number, issued.id, actor=DISPATCHER))
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    squeezed = "".join(text.split())
    assert "标题开头" in squeezed and "标题结尾" in squeezed
    last = summary.rsplit("\n", 1)[-1][-12:]
    assert "第0段开始" in squeezed and last in squeezed and "印发" in squeezed
    assert text.count("\f") > 3  # several pages
