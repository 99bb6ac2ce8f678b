"""The citizen's path on a phone (390×844) in Chromium: file → number and code → follow → (staff
approve the report through the service) → read the reply → rate it → ask for 复查; the office then
reads the rating on its case page. Every public page must fit the phone's width (no sideways scrolling)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import PASSWORD, AppWorld
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, unit_actor
from tests.web.test_public_pages import DIGITS

PHONE = {"width": 390, "height": 844}
NAME, MOBILE = "欧阳网民", "13912345678"


def fits(page: Any) -> None:
    """Nothing wider than the viewport: the page never scrolls sideways."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide on a {width[1]} px screen"


def test_a_citizen_files_follows_rates_the_reply_and_asks_for_review_on_a_phone(
        browser: Any, site: str, aw: AppWorld, shots: Path) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{site}/login")
        fits(page)
        page.get_by_role("link", name="群众网上反映").click()
        expect(page.locator("h1")).to_have_text("网上反映")
        fits(page)
        page.select_option("#office_code", "GS-LZ-CG")
        page.select_option("#category", "water")
        page.fill("#title", "小区停水三天无人管")
        page.fill("#summary", f"我是{NAME}，电话{MOBILE}。小区停水三天，物业说等通知。")
        page.fill("#subject_name", "城关区水务局")
        page.check("#identity_real")
        page.fill("#name", NAME)
        page.fill("#phone", MOBILE)
        page.check("#consent")
        question = page.locator("label[for=answer]").inner_text()
        a, op, b = re.search(r"：(.+?)(加|减)(.+?)等于几？", question).groups()  # type: ignore[union-attr]
        page.fill("#answer", str(DIGITS[a] + DIGITS[b] if op == "加" else DIGITS[a] - DIGITS[b]))
        page.screenshot(path=shots / "public-1-form.png", full_page=True)
        page.get_by_role("button", name="提交反映").click()
        expect(page.locator("h1")).to_have_text("您的反映已提交")
        fits(page)
        number = page.locator("[data-field=number]").inner_text()
        code = page.locator("[data-field=code]").inner_text()
        assert re.fullmatch(r"GS-LZ-CG-\d{4}-\d{5}", number) and re.fullmatch(r"(\w{4}-){3}\w{4}", code)
        page.screenshot(path=shots / "public-2-filed.png", full_page=True)

        page.get_by_role("link", name="去查询进展").click()
        page.fill("#number", number)
        page.fill("#code", code)
        page.get_by_role("button", name="查询办理进展").click()
        expect(page.locator("[data-field=state]")).to_have_text("已受理")
        fits(page)

        service = CaseService(aw.ctx)
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED,
                          "text": f"经查，管网检修导致停水，已于次日恢复供水，并向{NAME}说明情况。"})
        service.act(number, "approve", actor=SUPERVISOR, form={"note": "内部意见：经办人核实无误"})

        page.goto(f"{site}/public/follow")
        page.fill("#number", number)
        page.fill("#code", code.replace("-", "").lower())  # as a person may type it
        page.get_by_role("button", name="查询办理进展").click()
        expect(page.locator("[data-field=state]")).to_have_text("已答复")
        reply = page.locator("[data-field=reply]")
        expect(reply).to_contain_text("已于次日恢复供水")
        assert NAME not in reply.inner_text() and "内部意见" not in page.content()
        fits(page)
        page.check("#rating_basically_satisfied")
        page.fill("#comment", "水来了，但水压偏低。")
        page.screenshot(path=shots / "public-3-reply.png", full_page=True)
        page.get_by_role("button", name="评价答复").click()
        expect(page.locator(".flash")).to_have_text("感谢您的评价。")
        expect(page.locator("[data-field=rating]")).to_contain_text("基本满意")
        expect(page.locator("form[action='/public/rate']")).to_have_count(0)  # rated once
        fits(page)
        page.screenshot(path=shots / "public-4-rated.png", full_page=True)

        page.fill("#reason", "水压仍然不足，高层用不上水。")  # 复查: the office above looks again
        page.get_by_role("button", name="申请复查").click()
        expect(page.locator(".flash")).to_have_text("复查申请已提交，上一级机关将依规办理。")
        expect(page.locator("[data-field=state]")).to_have_text("复查中")
        assert service.get(number).state == "reexamination"
        fits(page)
        page.screenshot(path=shots / "public-5-review.png", full_page=True)
    finally:
        context.close()

    office = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = office.new_page()
    try:
        page.goto(f"{site}/login")
        page.fill("#username", "supervisor")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#ratings")).to_contain_text("基本满意")
        expect(page.locator("#ratings")).to_contain_text("水压偏低")
    finally:
        office.close()
