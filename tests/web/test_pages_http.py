"""Pages over plain HTTP: sign-in, CSRF, redirects, status codes and Chinese messages.

The browser journeys are in test_journeys.py; these are the quick checks of each page's contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.appworld import (  # noqa: F401
    PASSWORD,
    AppWorld,
    LiveServer,
    app_for,
    fast_password_hashing,
    live_client,
    make_world,
)
from tests.factories import DISPATCHER, registered


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def signed_in(site: str, username: str) -> Iterator[httpx.Client]:
    with live_client(base_url=site) as browser:
        page = browser.get("/login")
        answer = browser.post("/login", data={"username": username, "password": PASSWORD,
                                              "csrf": csrf_of(page.text), "next": "/inbox"})
        assert answer.status_code == 303, answer.text
        yield browser


def test_pages_send_anonymous_visitors_to_the_login_page(site: str) -> None:
    with live_client(base_url=site) as browser:
        answer = browser.get("/cases/GS-2023-00001?x=1")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fcases%2FGS-2023-00001%3Fx%3D1"
        page = browser.get("/login")
        assert page.status_code == 200 and "登录督办系统" in page.text
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie


def test_a_wrong_password_stays_on_the_login_page_with_a_chinese_message(site: str) -> None:
    with live_client(base_url=site) as browser:
        token = csrf_of(browser.get("/login").text)
        answer = browser.post("/login", data={"username": "clerk", "password": "wrong", "csrf": token})
        assert answer.status_code == 401 and "用户名或密码错误" in answer.text


def test_a_login_without_the_forms_token_is_refused(site: str) -> None:
    with live_client(base_url=site) as browser:
        browser.get("/login")
        answer = browser.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf": "0" * 64})
        assert answer.status_code == 403 and "表单已过期" in answer.text


def test_login_never_redirects_off_the_site(site: str) -> None:
    with live_client(base_url=site) as browser:
        token = csrf_of(browser.get("/login").text)
        answer = browser.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf": token,
                                              "next": "//evil.example/x"})
        assert answer.headers["location"] == "/inbox"


def test_each_role_gets_its_inbox(aw: AppWorld, site: str) -> None:
    registered(aw.ctx)
    for who, heading in [("dispatcher", "待分流处置"), ("supervisor", "待审核的办理报告"),
                         ("unit", "本单位待办"), ("leader", "超期未办结"), ("clerk", "待分流处置")]:
        with signed_in(site, who) as browser:
            page = browser.get("/inbox")
            assert page.status_code == 200 and heading in page.text, who


def test_an_action_posted_without_the_csrf_token_is_refused_and_changes_nothing(
        aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    before = aw.snapshot()
    with signed_in(site, "dispatcher") as browser:
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"unit": "GS-LZ-CG-GOV", "version": "1"})
        assert answer.status_code == 403 and "表单已过期" in answer.text
    assert aw.snapshot() == before


def test_a_form_with_errors_comes_back_422_with_chinese_messages_and_changes_nothing(
        aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    before = aw.snapshot()
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get(f"/cases/{number}").text)
        answer = browser.post(f"/cases/{number}/actions/transfer", data={"csrf": token, "version": "1"})
        assert answer.status_code == 422 and "请填写承办单位" in answer.text
        unknown = browser.post(f"/cases/{number}/actions/transfer",
                               data={"csrf": token, "version": "1", "unit": "GS-NOPE"})
        assert unknown.status_code == 422 and "承办单位：没有这个代码的单位" in unknown.text
    assert aw.snapshot() == before


def test_a_stale_form_comes_back_409_with_the_fresh_case(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get(f"/cases/{number}").text)
        from duban.services import CaseService

        CaseService(aw.ctx).act(number, "supervise", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        before = aw.snapshot()
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": token, "version": "1", "unit": "GS-LZ-CG-SWJ"})
        assert answer.status_code == 409 and "已被他人更新" in answer.text and "督办中" in answer.text
    assert aw.snapshot() == before


def test_a_case_outside_scope_is_a_404_page(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "unit") as browser:
        answer = browser.get(f"/cases/{number}")
        assert answer.status_code == 404 and "不存在，或您无权查看" in answer.text


def test_pages_carry_security_headers(site: str) -> None:
    with live_client(base_url=site) as browser:
        page = browser.get("/login")
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        css = browser.get("/static/duban.css")
        assert css.status_code == 200 and "cache-control" not in css.headers


def test_registering_on_the_page_opens_the_new_case(aw: AppWorld, site: str) -> None:
    with signed_in(site, "clerk") as browser:
        token = csrf_of(browser.get("/cases/new").text)
        bad = browser.post("/cases/new", data={"csrf": token, "office_code": "GS", "title": ""})
        assert bad.status_code == 422 and "请填写标题" in bad.text
        answer = browser.post("/cases/new", data={
            "csrf": token, "office_code": "GS", "title": "某村自来水停供一周", "category": "water",
            "channel": "phone", "priority": "livelihood", "complainant_name": "张某",
            "complainant_phone": "19900001111", "complainant_real_name": "on", "subject_kind": "unit",
            "subject_org_code": "GS-LZ-CG-SWJ", "subject_name": "城关区水务局"})
        assert answer.status_code == 303
        page = browser.get(answer.headers["location"])
        assert "某村自来水停供一周" in page.text and "已完成：登记受理" in page.text


def test_the_dashboard_and_report_slots_render(aw: AppWorld, site: str) -> None:
    registered(aw.ctx)
    with signed_in(site, "leader") as browser:
        board = browser.get("/dashboard")
        assert board.status_code == 200 and "按处置方式" in board.text and "未处置" in board.text
        assert browser.get("/reports").status_code == 200
        assert browser.get("/board").status_code == 200
        assert browser.get("/cases?state=received&text=拖欠").status_code == 200


def test_a_unit_asking_a_return_keeps_the_case_and_the_dispatcher_finds_it_queued(
        aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    from duban.services import CaseService

    CaseService(aw.ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    with signed_in(site, "unit") as browser:
        token = csrf_of(browser.get(f"/cases/{number}").text)
        answer = browser.post(f"/cases/{number}/actions/request_return",
                              data={"csrf": token, "version": "2", "reason": "不属于本单位职责"})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/cases/{number}?done=request_return"
        page = browser.get(answer.headers["location"]).text
        assert "退单申请" in page and "待审核" in page and "不属于本单位职责" in page
    with signed_in(site, "dispatcher") as browser:
        inbox = browser.get("/inbox").text
        queue = inbox[inbox.index('id="return_requests"'):inbox.index('id="triage"')]
        assert "待审核的退单申请" in queue and number in queue and "（1件）" in queue


def test_signing_out_ends_the_cookie_even_when_a_copy_of_it_is_replayed(aw: AppWorld, site: str) -> None:
    with signed_in(site, "clerk") as browser, signed_in(site, "clerk") as other_device:
        copied = dict(browser.cookies)
        assert browser.get("/inbox").status_code == 200 and other_device.get("/inbox").status_code == 200
        browser.post("/logout", data={"csrf": csrf_of(browser.get("/inbox").text)})
        with live_client(base_url=site, cookies=copied) as thief:
            assert thief.get("/inbox").headers["location"].startswith("/login")
        assert other_device.get("/inbox").status_code == 303  # signing out ends every session
        assert httpx.get(f"{site}/api/auth/me", headers=aw.auth("clerk")).status_code == 401


def test_a_new_password_on_the_page_ends_every_session_and_weak_ones_are_explained(aw: AppWorld,
                                                                                  site: str) -> None:
    with signed_in(site, "clerk") as browser, signed_in(site, "clerk") as other_device:
        page = browser.get("/account/password")
        assert page.status_code == 200 and "修改密码" in page.text
        form = {"csrf": csrf_of(page.text), "current_password": PASSWORD}
        weak = browser.post("/account/password", data={**form, "new_password": "password123",
                                                       "new_password2": "password123"})
        assert weak.status_code == 422 and "过于常见" in weak.text and "password123" not in weak.text
        short = browser.post("/account/password", data={**form, "new_password": "Gs#9x!k",
                                                        "new_password2": "Gs#9x!k"})
        assert short.status_code == 422 and "至少需要10个字符" in short.text
        wrong = browser.post("/account/password", data={**form, "current_password": "not mine at all",
                                                        "new_password": "甘肃省 new passphrase",
                                                        "new_password2": "甘肃省 new passphrase"})
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
        assert other_device.get("/inbox").status_code == 200  # nothing ended yet
        done = browser.post("/account/password", data={**form, "new_password": "甘肃省 new passphrase",
                                                       "new_password2": "甘肃省 new passphrase"})
        assert done.status_code == 303 and done.headers["location"] == "/login?changed=1"
        assert "密码已修改" in browser.get("/login?changed=1").text
        assert other_device.get("/inbox").status_code == 303
        assert httpx.get(f"{site}/api/auth/me", headers=aw.auth("clerk")).status_code == 401


def test_a_disabled_user_is_told_on_the_login_page(aw: AppWorld, site: str) -> None:
    from duban.services.users import set_active

    set_active(aw.ctx, "clerk", False)
    with live_client(base_url=site) as browser:
        token = csrf_of(browser.get("/login").text)
        answer = browser.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf": token})
        assert answer.status_code == 401 and "该账号已停用" in answer.text
        token = csrf_of(answer.text)
        wrong = browser.post("/login", data={"username": "clerk", "password": "nope nope", "csrf": token})
        assert wrong.status_code == 401 and "该账号已停用" not in wrong.text


def test_a_long_case_shows_its_newest_steps_and_pages_through_all_of_them(aw: AppWorld, site: str) -> None:
    """A key-supervised case reports progress every week for years: its page shows the newest 50
    steps and reports and says how many there are; the rest are a page away, 100 at a time,
    oldest first, as the reader may see them (another unit: not found)."""
    from duban.services import CaseService
    from duban.services.reading import HISTORY_PAGE, SHOWN_HISTORY
    from tests.factories import unit_actor

    number = registered(aw.ctx)
    service = CaseService(aw.ctx)
    service.act(number, "key_supervise", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    unit = unit_actor(aw.ctx, "GS-LZ-CG-GOV")
    for week in range(HISTORY_PAGE + 10):
        service.act(number, "report_progress", actor=unit, form={"text": f"第{week}周进展"})
    steps = service.get(number).audit_seq
    assert HISTORY_PAGE < steps < 2 * HISTORY_PAGE  # two pages of it

    def seqs(html: str) -> list[int]:
        table = html[html.index('<table id="timeline">'):]
        return [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", table[:table.index("</table>")])]

    with signed_in(site, "dispatcher") as browser:
        page = browser.get(f"/cases/{number}").text
        assert seqs(page) == list(range(steps - SHOWN_HISTORY + 1, steps + 1))
        assert f"显示最近 {SHOWN_HISTORY} 条，共 {steps} 条" in page
        assert f"显示最近 {SHOWN_HISTORY} 条，共 {HISTORY_PAGE + 10} 条" in page  # the reports
        assert f"第{HISTORY_PAGE + 9}周进展" in page and "第0周进展" not in page
        first = browser.get(f"/cases/{number}/history/timeline")
        assert first.status_code == 200 and seqs(first.text) == list(range(1, HISTORY_PAGE + 1))
        assert f"共 {steps} 条，第 1/2 页" in first.text and 'href="?page=2"' in first.text
        assert "<h1>" + number + " · 办理过程（全部）</h1>" in first.text
        second = browser.get(f"/cases/{number}/history/timeline?page=2").text
        assert seqs(second) == list(range(HISTORY_PAGE + 1, steps + 1))
        reports = browser.get(f"/cases/{number}/history/reports").text
        assert "第0周进展" in reports and f"第{HISTORY_PAGE}周进展" not in reports
        assert "办理报告（全部）" in reports
        assert f"第{HISTORY_PAGE}周进展" in browser.get(f"/cases/{number}/history/reports?page=2").text
        assert browser.get(f"/cases/{number}/history/secrets").status_code == 404
        assert browser.get(f"/cases/{number}/history/timeline?page=二").status_code == 422
    with signed_in(site, "other-unit") as browser:
        answer = browser.get(f"/cases/{number}/history/timeline")
        assert answer.status_code == 404 and "不存在，或您无权查看" in answer.text
