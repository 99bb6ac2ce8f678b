"""Typed text is shown without what acts on the text around it (duban.shown): on every page, in
every mail, whatever field carried it. The record keeps it as received."""

from __future__ import annotations

import re

from markupsafe import Markup
from sqlmodel import Session, select

from duban.models import Case, Notification
from duban.notify.templates import packaged_templates
from duban.shown import UNSHOWN, finalize
from tests.appworld import AppWorld, fast_password_hashing  # noqa: F401
from tests.factories import transferred
from tests.web.test_pages_http import signed_in

# A bell, an escape sequence, a vertical tab, a C1 control, a right-to-left override and a
# right-to-left isolate left open: each would ring, draw boxes or turn the rest of its line around.
ACTING = "\x07\x1b\x0b\x85\u202e\u2067"
TITLE = f"拖欠{ACTING[0]}工程款{ACTING[1]}[31m{ACTING[4]}未付"
SUMMARY = f"第一段{ACTING[2]}第二段{ACTING[3]}{ACTING[5]}倒序"


def test_the_filter_drops_them_from_text_and_markup_alike() -> None:
    assert finalize(TITLE) == "拖欠工程款[31m未付"
    kept = finalize(Markup("<b>标题\u202e</b>"))
    assert isinstance(kept, Markup) and str(kept) == "<b>标题</b>"
    assert finalize("第一行\n第二行\t列") == "第一行\n第二行\t列"  # line breaks and tabs are text
    assert finalize(3) == 3


def test_pages_and_mails_show_a_case_without_them_and_the_record_keeps_them(aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx, title=TITLE, summary=SUMMARY)
    with Session(aw.ctx.engine) as session:
        stored = session.exec(select(Case).where(Case.number == number)).one()
        assert stored.title == TITLE and stored.summary == SUMMARY  # the record is as received
        mails = list(session.exec(select(Notification)).all())
    assert mails, "the transfer wrote no mail"
    for mail in mails:
        assert not UNSHOWN.search(mail.subject) and not UNSHOWN.search(mail.body), mail.subject
    case = {"number": number, "title": TITLE, "disposition": "转办", "deadline_on": "2023-10-10"}
    subject, body = packaged_templates().render("remind", {
        "case": case, "recipient": {"name": "城关区人民政府"}, "office": {"name": "兰州市督办室"},
        "today": "2023-10-12", "overdue_workdays": 2, "note": f"请于三日内报送{ACTING[4]}"})
    assert "“拖欠工程款[31m未付”" in body and not UNSHOWN.search(subject + body)
    with signed_in(site, "dispatcher") as browser:
        for address in (f"/cases/{number}", f"/cases?text={number}", "/inbox"):
            page = browser.get(address)
            assert page.status_code == 200, address
            assert not re.search(UNSHOWN.pattern, page.text), address
        assert "拖欠工程款[31m未付" in browser.get(f"/cases/{number}").text
