"""Pages people enjoy, over HTTP: people's display names in timelines (the engine as 系统), the
closing time of a closed case, the inbox count in the navigation, dashboard counts that open the
cases they count, and every message a page shows in Chinese with internals kept to the logs."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

import pytest

from duban.services import CaseService
from duban.services.accountaudit import history
from duban.services.context import ENGINE_ACTOR
from duban.services.users import update_user
from tests.appworld import AppWorld, fast_password_hashing, live_client  # noqa: F401
from tests.factories import REPORTED, SUPERVISOR, registered, transferred, unit_actor
from tests.web.test_pages_http import csrf_of, signed_in

# An internal a person should never read: a lowercase ASCII word of three letters or more
# (an action key, a field name, an English sentence, a command line).
INTERNAL = re.compile(r"[a-z][a-z_]{2,}")
MESSAGES = re.compile(r'<(?:p|div)[^>]*class="(?:problem|error|flash)[^"]*"[^>]*>(.*?)</(?:p|div)>', re.S)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _main(page: str) -> str:
    return _text(page.split("<main>", 1)[1].split("</main>", 1)[0])


def test_the_timeline_names_people_by_their_display_names_and_the_engine_as_the_system(
        aw: AppWorld, site: str) -> None:
    update_user(aw.ctx, "dispatcher", role="dispatcher", org_code="GS", display_name="王分流")
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get(f"/cases/{number}").text)
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": token, "version": "1", "unit": "GS-LZ-CG-GOV"})
        assert answer.status_code == 303
        CaseService(aw.ctx).act(number, "remind", actor=ENGINE_ACTOR, form={})
        page = browser.get(f"/cases/{number}").text
    timeline = _text(page.split('id="timeline"', 1)[1])
    assert "王分流（办公室分流员）" in timeline and "dispatcher" not in timeline
    assert "系统" in timeline and ENGINE_ACTOR.name not in timeline and "系统（系统）" not in timeline
    assert "第" not in _text(page.split("<h1>", 1)[1].split("</p>", 1)[0])  # no 第N版 badge


def test_a_closed_case_shows_when_it_closed_and_an_open_one_does_not(aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx)
    with signed_in(site, "supervisor") as browser:
        assert 'id="closed-at"' not in browser.get(f"/cases/{number}").text
        service = CaseService(aw.ctx)
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已整改到位。"})
        service.act(number, "approve", actor=SUPERVISOR)
        service.act(number, "record_callback", actor=SUPERVISOR,
                    form={"method": "phone", "result": "satisfied"})
        closed = service.get(number)  # a satisfied callback closes the case
        page = browser.get(f"/cases/{number}").text
    assert closed.state == "closed" and closed.closed_at is not None
    shown = re.search(r'<dt>办结时间</dt><dd id="closed-at">([^<]+)</dd>', page)
    local = closed.closed_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert shown and shown.group(1) == local.strftime("%Y-%m-%d %H:%M")


def test_the_navigation_counts_the_inbox_and_an_action_renews_the_count(aw: AppWorld, site: str) -> None:
    numbers = [registered(aw.ctx, title=f"第{n}件待分流的监督意见") for n in range(3)]
    with signed_in(site, "dispatcher") as browser:
        page = browser.get("/cases").text
        assert re.search(r'id="inbox-count"[^>]*>3<', page), "three cases wait for triage"
        token = csrf_of(page)
        browser.post(f"/cases/{numbers[0]}/actions/transfer",
                     data={"csrf": token, "version": "1", "unit": "GS-LZ-CG-GOV"})
        assert re.search(r'id="inbox-count"[^>]*>2<', browser.get("/dashboard").text)
    with signed_in(site, "leader") as browser:  # nothing overdue yet: no count at all
        assert 'id="inbox-count"' not in browser.get("/inbox").text


def _rows(page: str) -> set[str]:
    return set(re.findall(r'<tr class="w-[a-z]+" data-number="([^"]+)"', page))


def test_each_dashboard_count_opens_the_list_of_the_cases_it_counts(aw: AppWorld, site: str) -> None:
    for n in range(3):
        transferred(aw.ctx, title=f"第{n}件已交办的监督意见")
    registered(aw.ctx, title="一件待分流的监督意见")
    aw.advance(days=60)  # the transferred ones are overdue now
    with signed_in(site, "dispatcher") as browser:
        board = browser.get("/dashboard").text
        links = re.findall(r'<a (?:id="[a-z-]+" )?href="(/cases[^"]*)">([^<]+)</a>'
                           r'(?:</div>|</td><td class="num">(\d+))', board)
        assert len(links) >= 8
        for href, label, count in links:
            expected = int(count or label)
            listed = _rows(browser.get(html.unescape(href)).text)
            assert len(listed) == expected, (href, label)


WALK: list[tuple[str, str, str, dict[str, str] | None]] = [
    # (who, method, path, form): each answers with a refusal page or a form with errors.
    ("dispatcher", "GET", "/reports?period=2023-13", None),
    ("dispatcher", "GET", "/reports?period=yesterday", None),
    ("unit", "GET", "/reports", None),
    ("unit", "GET", "/board", None),
    ("unit", "GET", "/pressure", None),
    ("dispatcher", "GET", "/admin/users", None),
    ("dispatcher", "GET", "/cases/GS-2023-99999", None),
    ("dispatcher", "GET", "/no/such/page", None),
    ("dispatcher", "GET", "/cases?unit=GS-NOPE", None),
    ("dispatcher", "POST", "/cases/{number}/actions/transfer", {"version": "1", "unit": "没有这个单位"}),
    ("dispatcher", "POST", "/cases/{number}/actions/transfer", {"version": "7", "unit": "GS-LZ-CG-GOV"}),
    ("dispatcher", "POST", "/cases/{number}/actions/approve", {"version": "1"}),
    ("dispatcher", "POST", "/cases/{number}/actions/decline", {"version": "1", "reason": "x" * 40}),
    ("dispatcher", "POST", "/cases/{number}/actions/transfer", {"version": "1", "unit": "GS-LZ-CG-GOV",
                                                                "note": "说" * 5000}),
    ("dispatcher", "POST", "/cases/{number}/actions/transfer", {"csrf": "0" * 128, "version": "1"}),
    ("clerk", "POST", "/cases/new", {"title": "", "summary": "x", "category": "nonsense", "channel": "fax",
                                     "priority": "urgent", "received_at": "2023-13-45"}),
    ("admin", "POST", "/admin/users", {"display_name": "新用户",
                                       "username": "王", "role": "root", "org_code": "GS"}),
    ("admin", "POST", "/admin/users", {"display_name": "新用户",
                                       "username": "new.user", "role": "unit", "org_code": "GS",
                                       "password": "correct horse 兰州", "password2": "correct horse 兰州"}),
    ("admin", "POST", "/admin/users", {"display_name": "新用户",
                                       "username": "new.user", "role": "clerk", "org_code": "GS",
                                       "password": "password123", "password2": "password123"}),
    ("admin", "POST", "/admin/users", {"display_name": "新用户",
                                       "username": "dispatcher", "role": "clerk", "org_code": "GS",
                                       "password": "correct horse 兰州", "password2": "correct horse 兰州"}),
    ("admin", "POST", "/admin/users/admin/active", {"active": "0"}),
    ("admin", "POST", "/admin/users/admin", {"display_name": "管理员", "role": "clerk", "org_code": "GS"}),
    ("admin", "POST", "/admin/users/admin/password", {"password": "correct horse 兰州",
                                                      "password2": "correct horse 兰州"}),
    ("admin", "POST", "/admin/users/clerk", {"display_name": "王\u202e丽", "role": "clerk",
                                             "org_code": "GS"}),
    ("admin", "POST", "/admin/users/clerk/active", {"active": "yes"}),
    ("admin", "GET", "/admin/users/nobody", None),
    ("dispatcher", "POST", "/account/password", {"current_password": "wrong", "new_password": "x",
                                                 "new_password2": "x"}),
]


@pytest.mark.parametrize(("who", "method", "path", "form"), WALK,
                         ids=[f"{w[0]}-{w[1]}-{w[2]}-{i}" for i, w in enumerate(WALK)])
def test_every_refusal_a_page_shows_is_chinese_with_no_internals(
        aw: AppWorld, site: str, who: str, method: str, path: str, form: dict[str, str] | None) -> None:
    number = registered(aw.ctx)
    with signed_in(site, who) as browser:
        token = csrf_of(browser.get("/inbox").text)
        target = path.format(number=number)
        if method == "GET":
            answer = browser.get(target)
        else:
            answer = browser.post(target, data={"csrf": token, **(form or {})})
    assert answer.status_code >= 400 or "error" in answer.text, (answer.status_code, target)
    messages = [_text(m).strip() for m in MESSAGES.findall(answer.text)]
    if answer.status_code >= 400 and "<main>" in answer.text and not messages:
        messages = [_main(answer.text)]
    assert messages and all(messages), answer.text[-2000:]
    for message in messages:
        assert not INTERNAL.search(message), message
        assert re.search(r"[\u4e00-\u9fff]", message), message


def test_no_label_a_page_may_show_falls_back_to_its_key(aw: AppWorld) -> None:
    """The whole class behind "不能执行“reports”": every error code, every action a role may be
    refused and every form field has its Chinese text."""
    from duban import errors
    from duban.api.schemas import CaseIn
    from duban.services.forms import FORMS

    labels, policy = aw.ctx.labels, aw.ctx.policy
    kinds: set[type] = set()
    todo: list[type] = [errors.DubanError]
    while todo:
        kinds.add(todo.pop())
        todo += [k for k in list(kinds)[-1].__subclasses__() if k not in kinds]
    assert {k.code for k in kinds} <= set(labels.errors), {k.code for k in kinds} - set(labels.errors)
    assert set(policy.roles) <= set(labels.actions), set(policy.roles) - set(labels.actions)
    fields = {f for form in FORMS.values() for f in form.model_fields} | set(CaseIn.model_fields)
    assert fields <= set(labels.fields), fields - set(labels.fields)
    for message in labels.errors.values():
        assert "{message}" not in message, message  # the English detail never reaches a page


def test_a_page_refusal_keeps_the_english_detail_in_the_log(
        aw: AppWorld, site: str, caplog: pytest.LogCaptureFixture) -> None:
    with signed_in(site, "dispatcher") as browser, caplog.at_level("INFO", logger="duban.api.errors"):
        answer = browser.get("/reports", params={"period": "2023-13"})
    assert answer.status_code == 422 and "统计期间填写有误" in answer.text
    assert "exists" not in answer.text


def test_the_admin_pages_are_for_administrators_only(aw: AppWorld, site: str) -> None:
    with signed_in(site, "admin") as browser:
        assert '<a href="/admin/users"' in browser.get("/inbox").text
    with signed_in(site, "supervisor") as browser:
        assert '<a href="/admin/users"' not in browser.get("/inbox").text
        assert browser.get("/admin/users").status_code == 403
        token = csrf_of(browser.get("/inbox").text)
        assert browser.get("/admin/users/unit").status_code == 403
        for path, form in (("/admin/users/unit/active", {"active": "0"}),
                           ("/admin/users/unit/password", {"password": "x" * 12, "password2": "x" * 12}),
                           ("/admin/users/unit/sign-out", {}),
                           ("/admin/users/unit", {"display_name": "x", "role": "admin", "org_code": "GS"}),
                           ("/admin/users", {"username": "x", "display_name": "x", "role": "admin",
                                             "org_code": "GS", "password": "x" * 12, "password2": "x" * 12})):
            assert browser.post(path, data={"csrf": token, **form}).status_code == 403, path
    with live_client(base_url=site) as anonymous:
        assert anonymous.get("/admin/users").status_code == 303
        assert anonymous.post("/admin/users/unit/active", data={"active": "0"}).status_code in (303, 403)
    assert len(history(aw.ctx, "unit")) == 1 and history(aw.ctx, "x") == []
