"""The unit's part through the pages, in a real browser: it signs for a case, asks to hand it back
(退单), the dispatcher refuses with a reason, and the unit reports in the structured form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import CLERK, DISPATCHER, complaint
from tests.web.test_journeys import do_action, signed_in


def test_a_unit_signs_asks_a_return_that_is_refused_and_reports_in_the_structured_form(
        browser: Any, aw: AppWorld, site: str, shots: Path) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="某小区供水管网老化漏水"), actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})

    with signed_in(browser, site, "unit") as page:
        waiting = page.locator("#unsigned")
        expect(waiting.locator(f"tr[data-number='{number}'] .badge.unsigned")).to_have_text("待签收")
        waiting.get_by_role("link", name=number).click()
        expect(page.locator("#signing")).to_contain_text("待签收")
        do_action(page, "sign_for")
        expect(page.locator(".flash")).to_have_text("已完成：签收")
        expect(page.locator("#signing")).to_contain_text("已签收")
        expect(page.locator("#action-sign_for")).to_have_count(0)
        page.goto(f"{site}/inbox")
        expect(page.locator("#unsigned")).not_to_contain_text(number)
        page.locator("#mine").get_by_role("link", name=number).click()
        do_action(page, "request_return", reason="   ")
        expect(page.locator("#action-request_return .error")).to_have_text("请填写理由")
        do_action(page, "request_return", reason="供水管网属城关区水务局职责，请改派")
        expect(page.locator("#state")).to_have_text("已转办")  # the case stays with the unit
        expect(page.locator("#returns")).to_contain_text("待审核")
        expect(page.locator("#action-request_return")).to_have_count(0)  # one request at a time
        page.screenshot(path=shots / "u1-return-asked.png", full_page=True)

    with signed_in(browser, site, "dispatcher") as page:
        queue = page.locator("#return_requests")
        expect(queue.locator("h2")).to_contain_text("待审核的退单申请 （1件）")
        queue.get_by_role("link", name=number).click()
        expect(page.locator("#returns")).to_contain_text("供水管网属城关区水务局职责")
        do_action(page, "reject_return")
        expect(page.locator("#action-reject_return .error")).to_have_text("请填写理由")
        do_action(page, "reject_return", reason="小区内管网由街道牵头，属地负责，请继续办理")
        expect(page.locator("#returns")).to_contain_text("不同意退单")
        expect(page.locator("#state")).to_have_text("已转办")
        expect(page.locator("#unit")).to_have_text("城关区人民政府")
        page.goto(f"{site}/inbox")
        expect(page.locator("#return_requests")).not_to_contain_text(number)

    with signed_in(browser, site, "unit") as page:
        page.locator("#mine").get_by_role("link", name=number).click()
        expect(page.locator("#returns")).to_contain_text("属地负责，请继续办理")
        do_action(page, "submit_report", text="已更换漏水管段，恢复正常供水。")
        expect(page.locator("#action-submit_report .error").first).to_have_text("请填写是否属实")
        do_action(page, "submit_report", text="已更换漏水管段，恢复正常供水。", finding="partly_true",
                  actions_taken="组织抢修，更换漏水管段120米", rectification="建立管网巡查台账，每月巡查",
                  accountability="对巡查不到位的物业负责人约谈")
        expect(page.locator("#state")).to_have_text("待审核")

    with signed_in(browser, site, "supervisor") as page:
        page.locator("#review").get_by_role("link", name=number).click()
        parts = page.locator(".report-parts")
        expect(parts.locator(".finding")).to_have_text("部分属实")
        expect(parts).to_contain_text("组织抢修，更换漏水管段120米")
        expect(parts).to_contain_text("建立管网巡查台账，每月巡查")
        expect(parts).to_contain_text("对巡查不到位的物业负责人约谈")
        page.screenshot(path=shots / "u2-structured-report.png", full_page=True)
