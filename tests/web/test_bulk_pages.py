"""Bulk actions on the case list: tick several cases, 催办 them, read each case's outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import CLERK, DISPATCHER, complaint
from tests.web.test_journeys import signed_in


def test_a_dispatcher_urges_several_ticked_cases_and_reads_each_outcome(
        browser: Any, aw: AppWorld, site: str, shots: Path) -> None:
    service = CaseService(aw.ctx)
    handled = []
    for title in ("某村饮水困难", "某企业工程款被拖欠"):
        number = service.register(complaint(title=title), actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        handled.append(number)
    waiting = service.register(complaint(title="尚未交办的件", subject_name="某单位", subject_org_code=None),
                               actor=CLERK).case.number
    with signed_in(browser, site, "dispatcher") as page:
        page.goto(f"{site}/cases")
        for number in (*handled, waiting):
            page.check(f"tr[data-number='{number}'] input[name=numbers]")
        page.select_option("#b-action", "remind")
        page.fill("#b-note", "请于本周内办结")
        page.get_by_role("button", name="批量执行").click()
        expect(page.locator("h1")).to_have_text("批量操作结果：催办")
        expect(page.locator(".bulk-counts")).to_contain_text("已完成 2 件")
        for number in handled:
            expect(page.locator(f"tr[data-number='{number}']")).to_contain_text("已完成")
        refused = page.locator(f"tr[data-number='{waiting}']")
        expect(refused).to_contain_text("未执行")
        expect(refused).to_contain_text("不能执行“催办”")
        page.screenshot(path=shots / "bulk-remind.png", full_page=True)
        page.goto(f"{site}/cases")  # the same cases sent again: nobody is urged twice
        for number in handled:
            page.check(f"tr[data-number='{number}'] input[name=numbers]")
        page.get_by_role("button", name="批量执行").click()
        expect(page.locator(".bulk-counts")).to_contain_text("无需重复 2 件")
        page.get_by_role("link", name=handled[0]).click()
        expect(page.locator("#timeline")).to_contain_text("请于本周内办结")
