"""Account administration on the pages (/admin/users): an administrator adds a user, changes their
name, role and org, sets a new password and disables them; each ends what it must at once."""

from __future__ import annotations

import re

import httpx

from duban.services.accountaudit import history
from duban.services.users import create_user, get_user, user_named, users_with_orgs
from tests.appworld import PASSWORD, AppWorld, fast_password_hashing, live_client  # noqa: F401
from tests.factories import org_id
from tests.web.test_pages_http import csrf_of, signed_in

NEW_PASSWORD = "another horse 兰州"


def _user(aw: AppWorld, username: str):  # type: ignore[no-untyped-def]
    return user_named(aw.ctx, username)


def _signs_in(site: str, username: str, password: str) -> bool:
    with live_client(base_url=site) as browser:
        token = csrf_of(browser.get("/login").text)
        answer = browser.post("/login", data={"username": username, "password": password, "csrf": token})
        return answer.status_code == 303


def test_an_admin_adds_a_user_by_the_units_name_and_they_sign_in(aw: AppWorld, site: str) -> None:
    with signed_in(site, "admin") as browser:
        page = browser.get("/admin/users").text
        assert page.count("<datalist") == 1 and ">城关区水务局</option>" in page
        answer = browser.post("/admin/users", data={
            "csrf": csrf_of(page), "username": "wang.li", "display_name": "王丽", "role": "unit",
            "org_code": "城关区水务局", "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert answer.status_code == 303
        listed = browser.get(answer.headers["location"]).text
    assert "已完成：添加账号" in listed
    assert re.search(r'data-username="wang.li">.*?王丽.*?城关区水务局', listed, re.S)
    user = _user(aw, "wang.li")
    assert (user.role, user.org_id, user.display_name) == ("unit", org_id(aw.ctx, "GS-LZ-CG-SWJ"), "王丽")
    assert _signs_in(site, "wang.li", NEW_PASSWORD)


def test_a_refused_form_says_what_is_wrong_in_chinese_and_adds_nobody(aw: AppWorld, site: str) -> None:
    before = len(users_with_orgs(aw.ctx))
    with signed_in(site, "admin") as browser:
        token = csrf_of(browser.get("/admin/users").text)
        answer = browser.post("/admin/users", data={
            "csrf": token, "username": "wang.li", "display_name": "王丽", "role": "clerk",
            "org_code": "城关区水务局", "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
        mismatch = browser.post("/admin/users", data={
            "csrf": token, "username": "wang.li", "role": "clerk", "org_code": "GS",
            "password": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    assert answer.status_code == 422 and "须属于一个办公室" in answer.text
    assert 'id="org_code" name="org_code" value=""' in answer.text  # the refused org is not shown back
    assert 'value="王丽"' in answer.text  # the rest is kept
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.text
    assert NEW_PASSWORD not in answer.text + mismatch.text
    assert len(users_with_orgs(aw.ctx)) == before


def test_disabling_a_user_ends_their_open_session_and_enabling_lets_them_back(
        aw: AppWorld, site: str) -> None:
    with signed_in(site, "clerk") as clerk, signed_in(site, "admin") as admin:
        assert clerk.get("/inbox").status_code == 200
        token = csrf_of(admin.get("/admin/users/clerk").text)
        answer = admin.post("/admin/users/clerk/active", data={"csrf": token, "active": "0"})
        assert answer.status_code == 303 and "已停用" in admin.get(answer.headers["location"]).text
        assert clerk.get("/inbox").status_code == 303  # back to the login page
        assert not _signs_in(site, "clerk", PASSWORD)
        admin.post("/admin/users/clerk/active", data={"csrf": token, "active": "1"})
    assert _signs_in(site, "clerk", PASSWORD)


def test_a_new_password_or_a_new_role_ends_the_users_sessions_and_a_new_name_does_not(
        aw: AppWorld, site: str) -> None:
    with signed_in(site, "clerk") as clerk, signed_in(site, "admin") as admin:
        token = csrf_of(admin.get("/admin/users/clerk").text)
        admin.post("/admin/users/clerk", data={"csrf": token, "display_name": "李受理", "role": "clerk",
                                               "org_code": "GS"})
        assert clerk.get("/inbox").status_code == 200 and "李受理" in clerk.get("/inbox").text
        answer = admin.post("/admin/users/clerk/password",
                            data={"csrf": token, "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert answer.status_code == 303
        assert clerk.get("/inbox").status_code == 303
    assert not _signs_in(site, "clerk", PASSWORD) and _signs_in(site, "clerk", NEW_PASSWORD)
    with signed_in(site, "dispatcher") as dispatcher, signed_in(site, "admin") as admin:
        token = csrf_of(admin.get("/admin/users/dispatcher").text)
        nameless = admin.post("/admin/users/dispatcher", data={"csrf": token, "display_name": " ",
                                                               "role": "supervisor", "org_code": "GS-LZ"})
        assert nameless.status_code == 422 and "请填写姓名" in nameless.text
        assert dispatcher.get("/inbox").status_code == 200
        admin.post("/admin/users/dispatcher", data={"csrf": token, "display_name": "王分流",
                                                    "role": "supervisor", "org_code": "GS-LZ"})
        assert dispatcher.get("/inbox").status_code == 303
    user = _user(aw, "dispatcher")
    assert (user.role, user.org_id) == ("supervisor", org_id(aw.ctx, "GS-LZ"))
    assert get_user(aw.ctx, user.id or 0) is not None


def test_an_admin_cannot_disable_their_own_account(aw: AppWorld, site: str) -> None:
    with signed_in(site, "admin") as admin:
        page = admin.get("/admin/users/admin").text
        answer = admin.post("/admin/users/admin/active", data={"csrf": csrf_of(page), "active": "0"})
        assert answer.status_code == 422 and "不能停用自己" in answer.text
        assert admin.get("/inbox").status_code == 200


def test_the_user_page_shows_the_account_s_history_in_chinese_by_whom(aw: AppWorld, site: str) -> None:
    with signed_in(site, "admin") as admin:
        token = csrf_of(admin.get("/admin/users/clerk").text)
        admin.post("/admin/users/clerk", data={"csrf": token, "display_name": "李受理", "role": "dispatcher",
                                               "org_code": "GS-LZ"})
        admin.post("/admin/users/clerk/active", data={"csrf": token, "active": "0"})
        page = admin.get("/admin/users/clerk").text
    history = page[page.index('id="account-history"'):]
    rows = re.findall(r"<tr><td>.*?</tr>", history, re.S)
    assert "停用账号" in rows[0] and "修改账号" in rows[1] and "添加账号" in rows[-1]  # newest first
    assert "角色 受理登记员 → 办公室分流员" in rows[1] and "所在单位 GS → GS-LZ" in rows[1]
    assert "（管理员）" in rows[0] and "账号变更记录" in page
    assert "account_" not in history and "sessions_ended" not in history


def test_an_admin_ends_every_session_of_a_user_who_may_sign_in_again(aw: AppWorld, site: str) -> None:
    with signed_in(site, "clerk") as clerk, signed_in(site, "admin") as admin:
        assert clerk.get("/inbox").status_code == 200
        token = csrf_of(admin.get("/admin/users/clerk").text)
        answer = admin.post("/admin/users/clerk/sign-out", data={"csrf": token})
        assert answer.status_code == 303
        shown = admin.get(answer.headers["location"]).text
        assert "结束全部登录" in shown[shown.index('id="account-history"'):]
        assert clerk.get("/inbox").status_code == 303
        refused = admin.post("/admin/users/clerk/sign-out", data={"csrf": "forged"})
        assert refused.status_code in (400, 403)
    assert _signs_in(site, "clerk", PASSWORD)


def _form(browser: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return browser.post(path, data={"csrf": csrf_of(browser.get("/admin/users").text), **fields})


def test_a_city_administrator_sees_and_changes_only_the_accounts_of_the_city(aw: AppWorld, site: str) -> None:
    create_user(aw.ctx, username="lz-admin", password=PASSWORD, role="admin", org_code="GS-LZ",
                display_name="兰州管理员")
    before = {u.username: (u.role, u.org_id, u.active, u.session_epoch) for u, _ in users_with_orgs(aw.ctx)}
    events = len(history(aw.ctx, "admin")) + len(history(aw.ctx, "county"))
    with signed_in(site, "lz-admin") as lz:
        listed = lz.get("/admin/users").text
        assert {"county", "city", "unit", "other-unit"} <= set(re.findall(r'data-username="([^"]+)"', listed))
        assert 'data-username="admin"' not in listed and 'data-username="clerk"' not in listed
        assert "兰州市办（GS-LZ）及其下级" in listed and ">省办</option>" not in listed
        for path, fields in (
                ("/admin/users/admin", None),
                ("/admin/users/admin/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}),
                ("/admin/users/admin/active", {"active": "0"}), ("/admin/users/admin/sign-out", {}),
                ("/admin/users/admin", {"display_name": "x", "role": "clerk", "org_code": "GS-LZ"})):
            answer = lz.get(path) if fields is None else _form(lz, path, **fields)
            assert answer.status_code == 404 and "不存在" in answer.text, path  # not theirs: not there
        for role, org in (("clerk", "GS"), ("admin", "GS"), ("unit", "GS-LX-GOV"), ("leader", "临夏州办")):
            added = _form(lz, "/admin/users", username="wang.li", display_name="王丽", role=role,
                          org_code=org, password=NEW_PASSWORD, password2=NEW_PASSWORD)
            assert added.status_code == 422, org
            assert "所在单位须在您管理的范围内：兰州市办（GS-LZ）" in added.text
        moved = _form(lz, "/admin/users/county", display_name="县分流员", role="dispatcher", org_code="GS")
        assert moved.status_code == 422 and "须在您管理的范围内" in moved.text
        done = _form(lz, "/admin/users", username="wang.li", display_name="王丽", role="unit",
                     org_code="城关区水务局", password=NEW_PASSWORD, password2=NEW_PASSWORD)
        assert done.status_code == 303
    after = {u.username: (u.role, u.org_id, u.active, u.session_epoch) for u, _ in users_with_orgs(aw.ctx)}
    assert after.pop("wang.li")[:2] == ("unit", org_id(aw.ctx, "GS-LZ-CG-SWJ")) and after == before
    assert len(history(aw.ctx, "admin")) + len(history(aw.ctx, "county")) == events
    assert _signs_in(site, "admin", PASSWORD)


def test_an_administrator_changes_their_own_name_only_and_no_form_can_make_them_lose_the_account(
        aw: AppWorld, site: str) -> None:
    events = len(history(aw.ctx, "admin"))
    with signed_in(site, "admin") as admin:
        page = admin.get("/admin/users/admin").text
        assert 'id="reset-password"' not in page and 'href="/account/password"' in page
        assert '<select id="role"' not in page and "须由另一位管理员修改" in page
        for path, fields, says in (
                ("/admin/users/admin", {"display_name": "管理员", "role": "clerk", "org_code": "GS"},
                 "不能改变自己账号的角色或所在单位"),
                ("/admin/users/admin", {"display_name": "管理员", "role": "admin", "org_code": "GS-LZ"},
                 "不能改变自己账号的角色或所在单位"),
                ("/admin/users/admin/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
                 "请在“修改密码”页面修改"),
                ("/admin/users/admin/active", {"active": "0"}, "不能停用自己"),
                ("/admin/users/clerk/active", {"active": "true"}, "账号状态填写有误"),
                ("/admin/users/clerk/active", {}, "账号状态填写有误")):
            answer = _form(admin, path, **fields)
            assert answer.status_code == 422 and says in answer.text, (path, fields)
        assert admin.get("/inbox").status_code == 200
        renamed = _form(admin, "/admin/users/admin", display_name="王管理", role="admin",
                        org_code="省办（GS）")
        assert renamed.status_code == 303 and admin.get("/inbox").status_code == 200
    user = _user(aw, "admin")
    assert (user.role, user.org_id, user.active) == ("admin", org_id(aw.ctx, "GS"), True)
    assert user.display_name == "王管理"
    assert _user(aw, "clerk").active and len(history(aw.ctx, "admin")) == events + 1
    assert _signs_in(site, "admin", PASSWORD)


def test_a_display_name_with_a_bidi_override_is_refused_on_the_page_and_markup_is_shown_as_text(
        aw: AppWorld, site: str) -> None:
    with signed_in(site, "admin") as admin:
        refused = _form(admin, "/admin/users/clerk", display_name="王\u202e丽", role="clerk", org_code="GS")
        assert refused.status_code == 422 and "不能含有控制字符或不可见的格式字符" in refused.text
        done = _form(admin, "/admin/users/clerk", display_name="<b>王丽</b>", role="clerk", org_code="GS")
        assert done.status_code == 303
        listed = admin.get("/admin/users").text
    assert "&lt;b&gt;王丽&lt;/b&gt;" in listed and "<b>王丽</b>" not in listed
    assert _user(aw, "clerk").display_name == "<b>王丽</b>"


def test_a_move_to_another_org_on_the_page_ends_the_users_api_token_from_a_real_sign_in_too(
        aw: AppWorld, site: str) -> None:
    with live_client(base_url=site) as api, signed_in(site, "county") as county, \
            signed_in(site, "admin") as admin:
        token = api.post("/api/auth/login", json={"username": "county", "password": PASSWORD}).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/auth/me", headers=bearer).status_code == 200  # remembered by the token cache
        moved = _form(admin, "/admin/users/county", display_name="县分流员", role="dispatcher",
                      org_code="GS-LZ")
        assert moved.status_code == 303
        assert api.get("/api/auth/me", headers=bearer).status_code == 401
        assert county.get("/inbox").status_code == 303
