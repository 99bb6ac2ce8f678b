"""二次交办 in a real browser: the government passes a case to its department, reviews its report
(returns it once, forwards it the second time), and the office approves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import CLERK, DISPATCHER, complaint
from tests.web.test_journeys import do_action, signed_in


def test_a_government_delegates_reviews_its_department_s_report_and_the_office_approves(
        browser: Any, aw: AppWorld, site: str, shots: Path) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(), actor=CLERK).case.number  # about 城关区住建局
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})

    with signed_in(browser, site, "unit") as page:  # 城关区人民政府
        expect(page.locator("#delegate_review h2")).to_contain_text("（0件）")
        page.locator("#mine").get_by_role("link", name=number).click()
        picker = page.locator("#action-delegate [name=department]")
        expect(picker.locator("option[value='GS-LZ-CG-ZJJ']")).to_be_disabled()  # 回避
        expect(picker.locator("option[value='GS-LZ-CG-ZJJ']")).to_contain_text("回避")
        do_action(page, "delegate")
        expect(page.locator("#action-delegate .error")).to_have_text("请填写承办部门")
        do_action(page, "delegate", department="GS-LZ-CG-SWJ", note="请水务局核实办理")
        expect(page.locator(".flash")).to_contain_text("二次交办")
        expect(page.locator("#unit")).to_have_text("城关区人民政府")
        expect(page.locator("#delegate")).to_have_text("城关区水务局")
        expect(page.locator("#action-submit_report")).to_have_count(0)  # the department reports now
        page.screenshot(path=shots / "d1-delegated.png", full_page=True)

    with signed_in(browser, site, "other-unit") as page:  # 城关区水务局
        mine = page.locator("#mine")
        expect(mine.locator(f"tr[data-number='{number}']")).to_be_visible()
        expect(page.locator("#delegate_review")).to_have_count(0)  # a bureau has no departments
        mine.get_by_role("link", name=number).click()
        expect(page.locator("#complainant")).to_have_text("（保密）")
        do_action(page, "submit_report", text="已到现场核实，正在协调。", finding="true",
                  actions_taken="到现场核实")
        expect(page.locator("#state")).to_have_text("已转办")  # it waits for the government
        expect(page.locator("#delegate")).to_contain_text("待本级政府审核")

    with signed_in(browser, site, "unit") as page:
        queue = page.locator("#delegate_review")
        expect(queue.locator("h2")).to_contain_text("（1件）")
        queue.get_by_role("link", name=number).click()
        do_action(page, "return_delegate_report", reasons="未说明欠款支付时间")
        expect(page.locator("#state")).to_have_text("已转办")
        expect(page.locator("#action-forward_report")).to_have_count(0)
        page.goto(f"{site}/inbox")
        expect(page.locator("#delegate_review h2")).to_contain_text("（0件）")

    with signed_in(browser, site, "other-unit") as page:
        page.locator("#mine").get_by_role("link", name=number).click()
        expect(page.locator("body")).to_contain_text("未说明欠款支付时间")
        do_action(page, "submit_report", text="欠款已于本周全部支付，施工方已确认。", finding="true",
                  actions_taken="督促支付欠款")
        expect(page.locator("#delegate")).to_contain_text("待本级政府审核")

    with signed_in(browser, site, "unit") as page:
        page.locator("#delegate_review").get_by_role("link", name=number).click()
        do_action(page, "forward_report", note="经区政府审核属实")
        expect(page.locator("#state")).to_have_text("待审核")
        page.screenshot(path=shots / "d2-forwarded.png", full_page=True)

    with signed_in(browser, site, "supervisor") as page:
        page.locator("#review").get_by_role("link", name=number).click()
        expect(page.locator(".summary").last).to_contain_text("经区政府审核属实")
        do_action(page, "approve", note="材料齐全，问题已解决")
        expect(page.locator("#state")).to_have_text("审核通过待回访")
        expect(page.locator("#timeline")).to_contain_text("退回部门重新办理")
        expect(page.locator("#timeline")).to_contain_text("审核部门报告并报送办公室")
        page.screenshot(path=shots / "d3-approved.png", full_page=True)
