"""Bulk actions on the case list, on a desktop and on a phone: tick several cases, 催办 them, read each
case's outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import CLERK, DISPATCHER, complaint
from tests.web.devices import fits, signed_in_on, tap, tick


def test_a_dispatcher_urges_several_ticked_cases_and_reads_each_outcome(
        browser: Any, aw: AppWorld, site: str, shots: Path, device: str) -> None:
    service = CaseService(aw.ctx)
    handled = []
    for title in ("某村饮水困难", "某企业工程款被拖欠"):
        number = service.register(complaint(title=title), actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        handled.append(number)
    waiting = service.register(complaint(title="尚未交办的件", subject_name="某单位", subject_org_code=None),
                               actor=CLERK).case.number
    with signed_in_on(browser, site, "dispatcher", device) as page:
        page.goto(f"{site}/cases")
        for number in (*handled, waiting):
            tick(page.locator(f"tr[data-number='{number}'] input[name=numbers]"))
        page.select_option("#b-action", "remind")
        page.fill("#b-note", "请于本周内办结")
        tap(page.get_by_role("button", name="批量执行"))
        expect(page.locator("h1")).to_have_text("批量操作结果：催办")
        expect(page.locator(".bulk-counts")).to_contain_text("已完成 2 件")
        for number in handled:
            expect(page.locator(f"tr[data-number='{number}']")).to_contain_text("已完成")
        refused = page.locator(f"tr[data-number='{waiting}']")
        expect(refused).to_contain_text("未执行")
        expect(refused).to_contain_text("不能执行“催办”")
        fits(page)
        page.screenshot(path=shots / f"bulk-remind-{device}.png", full_page=True)
        page.goto(f"{site}/cases")  # the same cases sent again: nobody is urged twice
        for number in handled:
            tick(page.locator(f"tr[data-number='{number}'] input[name=numbers]"))
        tap(page.get_by_role("button", name="批量执行"))
        expect(page.locator(".bulk-counts")).to_contain_text("无需重复 2 件")
        tap(page.get_by_role("link", name=handled[0]))
        expect(page.locator("#timeline")).to_contain_text("请于本周内办结")
