"""Whole journeys in a real browser: the pages people use, clicked through as they would.

intake → triage → the unit reports → the reviewer returns it with reasons → the unit reports again →
the reviewer approves → callback → closed; and a unit user who never sees who complained.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from duban.services import CaseService
from tests.appworld import PASSWORD, SECRET_NAME, SECRET_PHONE, AppWorld
from tests.factories import CLERK, DISPATCHER, complaint


@contextmanager
def signed_in(browser: Any, site: str, username: str, *, width: int = 1280) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{site}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.locator("h1")).to_contain_text("我的工作台")
        yield page
    finally:
        context.close()


def do_action(page: Page, action: str, **fields: str) -> None:
    """Open an action's form on the case page, fill it in and submit it."""
    box = page.locator(f"#action-{action}")
    if not box.evaluate("e => e.open"):  # a form that came back with errors is open already
        box.locator("summary").click()
    for name, value in fields.items():
        field = box.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    box.locator("button[type=submit]").click()


def test_a_case_goes_from_intake_to_closed_through_the_pages(browser: Any, site: str, shots: Path) -> None:
    with signed_in(browser, site, "clerk") as page:
        page.get_by_role("link", name="登记受理").click()
        page.get_by_role("button", name="登记").click()
        expect(page.locator(".error").first).to_have_text("请填写标题")
        page.fill("#r-title", "城关区住建局拖欠某建设集团工程款4216万元")
        page.fill("#r-summary", "反映人称工程已完工三年，尾款一直未付，多次催要无果。")
        page.select_option("#r-category", "arrears")
        page.select_option("#r-priority", "enterprise")
        page.fill("#r-complainant_name", SECRET_NAME)
        page.fill("#r-complainant_phone", SECRET_PHONE)
        page.check("#r-complainant_real_name")
        page.fill("#r-subject_name", "城关区住建局")
        page.fill("#r-subject_org_code", "城关区住建局")  # the unit picker takes the name
        page.get_by_role("button", name="登记").click()
        expect(page.locator(".flash")).to_have_text("已完成：登记受理")
        expect(page.locator("#state")).to_have_text("待处置")
        number = page.locator("h1").inner_text().split(" · ")[0]
        page.screenshot(path=shots / "1-registered.png", full_page=True)

    with signed_in(browser, site, "dispatcher") as page:
        triage = page.locator("#triage")
        expect(triage).to_contain_text(number)
        triage.get_by_role("link", name=number).click()
        picker = page.locator("#action-transfer [name=unit]")
        subject_option = page.locator(f"#{picker.get_attribute('list')} option[value='GS-LZ-CG-ZJJ']")
        expect(subject_option).to_be_disabled()  # avoidance: the unit complained about is not offered
        do_action(page, "transfer")
        expect(page.locator("#action-transfer .error")).to_have_text("请填写承办单位")
        do_action(page, "transfer", unit="GS-LZ-CG-GOV", note="请于期限内办结")
        expect(page.locator("#state")).to_have_text("已转办")
        expect(page.locator("#unit")).to_have_text("城关区人民政府")
        expect(page.locator("#complainant")).to_contain_text(SECRET_NAME)  # the receiving office sees it
        page.screenshot(path=shots / "2-transferred.png", full_page=True)

    with signed_in(browser, site, "unit") as page:
        mine = page.locator("#mine")
        expect(mine.locator(f"tr[data-number='{number}']")).to_contain_text("办理")
        page.screenshot(path=shots / "3-unit-inbox.png", full_page=True)
        mine.get_by_role("link", name=number).click()
        expect(page.locator("#complainant")).to_have_text("（保密）")
        expect(page.locator("#deadline")).to_contain_text("剩余")
        assert SECRET_NAME not in page.content() and SECRET_PHONE not in page.content()
        do_action(page, "submit_report", text="   ")
        expect(page.locator("#action-submit_report .error")).to_have_text("请填写办理情况")
        do_action(page, "submit_report", text="已协调支付首笔款项2000万元。", finding="true",
                  actions_taken="约谈住建局，协调支付首笔款项")
        expect(page.locator("#state")).to_have_text("待审核")
        page.screenshot(path=shots / "4-unit-reported.png", full_page=True)

    with signed_in(browser, site, "supervisor") as page:
        review = page.locator("#review")
        expect(review).to_contain_text(number)
        review.get_by_role("link", name=number).click()
        expect(page.locator("#complainant")).to_have_text("（保密）")  # policy: reviewers read redacted
        do_action(page, "send_back", reasons="事实不清、解决问题不力：剩余欠款何时支付未说明。")
        expect(page.locator("#state")).to_have_text("退回重办")
        page.goto(f"{site}/inbox")
        expect(page.locator("#returned")).to_contain_text(number)
        page.screenshot(path=shots / "5-supervisor-returned.png", full_page=True)

    with signed_in(browser, site, "unit") as page:
        page.locator("#mine").get_by_role("link", name=number).click()
        expect(page.locator(".summary").last).to_contain_text("剩余欠款何时支付未说明")
        do_action(page, "submit_report", text="剩余2216万元已于本周全部支付，施工方已确认。", finding="true",
                  actions_taken="督促付清剩余款项")
        expect(page.locator("#state")).to_have_text("待审核")

    with signed_in(browser, site, "supervisor") as page:
        page.locator("#review").get_by_role("link", name=number).click()
        do_action(page, "approve", note="材料齐全，问题已解决")
        expect(page.locator("#state")).to_have_text("审核通过待回访")
        do_action(page, "record_callback", method="phone", result="satisfied", note="反映人表示满意")
        expect(page.locator("#state")).to_have_text("已办结")
        expect(page.locator("#timeline tbody tr")).to_have_count(7)
        expect(page.locator("#timeline")).to_contain_text("登记回访（电话·满意）")
        page.screenshot(path=shots / "6-closed.png", full_page=True)


def test_a_unit_user_never_sees_the_complainant_on_any_page(
        browser: Any, aw: AppWorld, site: str, shots: Path) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(title=f"{SECRET_NAME}反映某路段长期围挡",
                                        complainant_name=SECRET_NAME, complainant_phone=SECRET_PHONE),
                              actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV", "note": "请核实"})
    with signed_in(browser, site, "unit") as page:
        for path in ("/inbox", "/cases", f"/cases/{number}", "/dashboard", "/cases?text=围挡", "/board"):
            page.goto(f"{site}{path}")
            html = page.content()
            assert SECRET_NAME not in html and SECRET_PHONE not in html, path
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("h1")).to_contain_text("（保密）反映某路段长期围挡")
        page.screenshot(path=shots / "7-unit-masked.png", full_page=True)
        page.goto(f"{site}/cases/new")
        expect(page.locator("h1")).to_have_text("无权操作")


def test_the_dashboard_shows_counts_and_the_overdue_list(browser: Any, aw: AppWorld, site: str,
                                                         shots: Path) -> None:
    service = CaseService(aw.ctx)
    for title in ("某村饮水困难", "某企业工程款被拖欠"):
        number = service.register(complaint(title=title), actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    aw.advance(days=40)
    with signed_in(browser, site, "leader") as page:
        page.get_by_role("link", name="统计").click()
        expect(page.locator("#kpi-total")).to_have_text("2")
        expect(page.locator("#kpi-overdue")).to_have_text("2")
        expect(page.locator("table.cases tbody tr")).to_have_count(2)
        page.screenshot(path=shots / "8-dashboard.png", full_page=True)


def test_a_dispatcher_picks_a_unit_by_typing_its_name_into_the_one_unit_list(
        browser: Any, aw: AppWorld, site: str, shots: Path) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="某小区供水管网老化漏水"), actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    with signed_in(browser, site, "dispatcher") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("datalist")).to_have_count(1)
        pickers = page.locator("input[name=unit]")
        assert pickers.count() >= 2
        assert {pickers.nth(i).get_attribute("list") for i in range(pickers.count())} == \
            {page.locator("datalist").get_attribute("id")}
        do_action(page, "reassign", unit="不存在的单位", reason="错派")
        expect(page.locator("#action-reassign .error")).to_have_text(
            "承办单位：没有这个名称或代码的单位，请从列表中选择")
        do_action(page, "reassign", unit="城关区水务局", reason="错派，改由水务局办理")
        expect(page.locator(".flash")).to_have_text("已完成：改派承办单位")
        expect(page.locator("#unit")).to_have_text("城关区水务局")
        page.screenshot(path=shots / "9-reassigned-by-name.png", full_page=True)
