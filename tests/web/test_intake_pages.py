"""In a real browser: the approver's extension queue, and a case declined (不予受理) then reinstated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import CLERK, DISPATCHER, complaint
from tests.web.test_journeys import do_action, signed_in


def test_the_approver_grants_part_of_an_extension_from_the_queue(
        browser: Any, site: str, aw: AppWorld, shots: Path) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(), actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})  # due 2023-10-10

    with signed_in(browser, site, "unit") as page:
        page.goto(f"{site}/cases/{number}")
        box = page.locator("#action-request_extension")
        box.locator("summary").click()
        expect(box.locator("label[for=request_extension-days]")).to_contain_text("延期时长（工作日）")
        do_action(page, "request_extension", days="5", reason="涉及多方协调，需进一步核实")
        expect(page.locator(".flash")).to_have_text("已完成：申请延期")
        expect(page.locator("#extensions")).to_contain_text("5个工作日")
        expect(page.locator("#extensions .decision")).to_have_text("待审批")

    with signed_in(browser, site, "supervisor") as page:
        expect(page.locator("#extension-count")).to_have_text("1")
        row = page.locator(f"#extensions tr[data-number='{number}']")
        expect(row.locator(".amount")).to_have_text("5个工作日")
        page.screenshot(path=shots / "extension-queue.png", full_page=True)
        page.goto(f"{site}/dashboard")
        expect(page.locator("#kpi-extensions")).to_have_text("1")
        page.goto(f"{site}/inbox")
        row.get_by_role("link", name=number).click()
        do_action(page, "approve_extension", days="3", note="先给3个工作日")
        expect(page.locator(".flash")).to_have_text("已完成：批准延期")
        # 3 working days after Tuesday 2023-10-10.
        expect(page.locator("#deadline")).to_contain_text("2023-10-13")
        expect(page.locator("#extended")).to_have_text("（已延期3个工作日）")
        expect(page.locator("#extensions .granted")).to_have_text("3个工作日")
        expect(page.locator("#extensions .decision")).to_have_text("已批准")
        page.screenshot(path=shots / "extension-granted.png", full_page=True)
        page.goto(f"{site}/inbox")
        expect(page.locator("#extension-count")).to_have_text("0")

    with signed_in(browser, site, "city") as page:  # another office: not its approver
        expect(page.locator("#extension-count")).to_have_text("0")


def test_a_dispatcher_declines_a_case_and_a_supervisor_reinstates_it(
        browser: Any, site: str, aw: AppWorld, shots: Path) -> None:
    number = CaseService(aw.ctx).register(complaint(), actor=CLERK).case.number

    with signed_in(browser, site, "dispatcher") as page:
        page.goto(f"{site}/cases/{number}")
        do_action(page, "decline", decline_reason="outside_remit", note="属于法院职权范围，已告知反映人")
        expect(page.locator(".flash")).to_have_text("已完成：不予受理（告知）")
        expect(page.locator("#state")).to_have_text("不予受理")
        expect(page.locator("#declined")).to_contain_text("不属于本机关职权范围")
        expect(page.locator("#deadline")).to_have_count(0)  # the triage limit stopped
        page.goto(f"{site}/cases?state=not_accepted")
        reason = page.locator(f"tr[data-number='{number}'] .decline-reason")
        expect(reason).to_contain_text("不属于本机关职权范围")
        page.screenshot(path=shots / "declined-list.png", full_page=True)

    with signed_in(browser, site, "supervisor") as page:
        page.goto(f"{site}/cases/{number}")
        do_action(page, "reinstate", reason="反映人补充材料，属本机关职权")
        expect(page.locator(".flash")).to_have_text("已完成：撤销不予受理，重新受理")
        expect(page.locator("#state")).to_have_text("待处置")
        expect(page.locator("#deadline")).to_contain_text("分流处置期限")
        expect(page.locator("#declines")).to_contain_text("不属于本机关职权范围")
        page.screenshot(path=shots / "reinstated.png", full_page=True)
