"""Account administration in Chromium, on a desktop and on a phone: an administrator adds a user,
moves them to another unit, sets them a new password and disables them, and the user, signed in on
the same kind of screen, is let in and sent out as each change says."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.web.devices import DEVICES, fits, signed_in_on, tap

NEW_PASSWORD = "another horse 兰州"
THIRD_PASSWORD = "third horse 天水"


def _sign_in(page: Page, site: str, username: str, password: str) -> None:
    page.goto(f"{site}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    tap(page.get_by_role("button", name="登录"))


def test_an_admin_adds_moves_resets_and_disables_a_user_who_is_let_in_and_out_accordingly(
        browser: Any, site: str, device: str) -> None:
    with signed_in_on(browser, site, "admin", device) as admin:
        tap(admin.get_by_role("link", name="账号管理"))
        expect(admin.locator("h1")).to_have_text("账号管理")
        fits(admin)
        admin.fill("#username", "wang.li")
        admin.fill("#display_name", "王丽")
        admin.select_option("#role", "unit")
        admin.fill("#org_code", "城关区水务局")  # the unit's name, picked from the list
        admin.fill("#password", NEW_PASSWORD)
        admin.fill("#password2", NEW_PASSWORD)
        tap(admin.get_by_role("button", name="添加账号"))
        expect(admin.locator(".flash")).to_contain_text("添加账号")
        expect(admin.locator('tr[data-username="wang.li"]')).to_contain_text("王丽")
        fits(admin)

        context = browser.new_context(locale="zh-CN", **DEVICES[device])
        try:
            user = context.new_page()
            _sign_in(user, site, "wang.li", NEW_PASSWORD)
            expect(user.locator("header .who")).to_contain_text("王丽（承办单位 · 城关区水务局）")

            tap(admin.locator('tr[data-username="wang.li"] a'))
            expect(admin.locator("h1")).to_contain_text("王丽")
            fits(admin)
            admin.fill("#display_name", "王丽华")
            admin.select_option("#role", "unit")
            admin.fill("#org_code", "城关区人民政府")
            tap(admin.locator("#edit-user button[type=submit]"))
            expect(admin.locator(".flash")).to_contain_text("保存账号信息")
            user.reload()  # a new org ends the user's session at once
            expect(user).to_have_url(f"{site}/login?next=%2Finbox")

            admin.fill("#reset-password [name=password]", THIRD_PASSWORD)
            admin.fill("#reset-password [name=password2]", THIRD_PASSWORD)
            tap(admin.get_by_role("button", name="设置新密码"))
            expect(admin.locator(".flash")).to_contain_text("设置新密码")
            _sign_in(user, site, "wang.li", NEW_PASSWORD)
            expect(user.locator(".problem[role=alert]")).to_be_visible()  # the old password is refused
            _sign_in(user, site, "wang.li", THIRD_PASSWORD)
            expect(user.locator("header .who")).to_contain_text("王丽华（承办单位 · 城关区人民政府）")
            fits(user)

            tap(admin.get_by_role("button", name="停用账号"))
            expect(admin.locator(".flash")).to_contain_text("停用账号")
            expect(admin.locator("h1")).to_contain_text("已停用")
            user.reload()
            expect(user).to_have_url(f"{site}/login?next=%2Finbox")
        finally:
            context.close()
