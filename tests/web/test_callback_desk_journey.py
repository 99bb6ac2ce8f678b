"""回访工作台 in Chromium, on a desktop and on a phone: a supervisor gives two cases' callbacks to
the office's clerk with the list's bulk bar; the clerk finds them under 分派给我 (the navigation
counts them), calls the complainant (whose phone the clerk's role may read) and records one; one
is left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from duban.services.callbacks import sample_callbacks
from tests.appworld import SECRET_NAME, SECRET_PHONE, AppWorld
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, complaint, unit_actor
from tests.web.devices import act, fits, lines, signed_in_on, tap, tick


def verified(aw: AppWorld, titles: tuple[str, ...]) -> list[str]:
    service = CaseService(aw.ctx)
    numbers = []
    for title in titles:
        filed = complaint(title=title, complainant_name=SECRET_NAME, complainant_phone=SECRET_PHONE)
        number = service.register(filed, actor=DISPATCHER).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已修复。"})
        service.act(number, "approve", actor=SUPERVISOR)
        numbers.append(number)
    sample_callbacks(aw.ctx)  # real-name complainants: every one is called back
    return numbers


def test_callbacks_assigned_in_bulk_reach_the_officer_who_records_one(
        browser: Any, aw: AppWorld, site: str, shots: Path, device: str) -> None:
    a, b, c = verified(aw, ("某小区供暖不热", "某路段路灯不亮", "某村道路积水"))
    with signed_in_on(browser, site, "supervisor", device) as page:
        page.goto(f"{site}/cases")
        for number in (a, b):
            tick(page.locator(f"tr[data-number='{number}'] input[name=numbers]"))
        page.select_option("#b-action", "assign_callback")
        page.fill("#b-assignee", "clerk")
        tap(page.get_by_role("button", name="批量执行"))
        expect(page.locator(".bulk-counts")).to_contain_text("已完成 2 件")
        page.goto(f"{site}/callbacks?show=unassigned")
        expect(page.locator("table.callbacks tbody tr")).to_have_count(1)
        expect(page.locator(f"tr[data-number='{c}']")).to_contain_text("（保密）")  # no identity right
        fits(page)
    with signed_in_on(browser, site, "clerk", device) as page:
        expect(page.locator("#nav-callbacks")).to_have_text("2")
        tap(page.get_by_role("link", name="回访工作台"))
        tap(page.get_by_role("link", name="分派给我"))
        rows = page.locator("table.callbacks tbody tr")
        expect(rows).to_have_count(2)
        first = page.locator(f"tr[data-number='{a}']")
        expect(first).to_contain_text(SECRET_PHONE)
        expect(first.locator(".assignee")).to_have_text("clerk")
        assert lines(first.get_by_role("link", name=a)) == 1  # number and phone read at a glance
        assert lines(first.locator("td", has_text=SECRET_PHONE)) == 1
        assert lines(first.locator("td", has_text="某小区供暖不热")) == 1
        fits(page)
        page.screenshot(path=shots / f"callback-desk-{device}.png", full_page=True)
        tap(first.get_by_role("link", name="登记回访"))
        expect(page.locator("h1")).to_contain_text(a)
        act(page, "record_callback", method="phone", result="satisfied", note="反映人表示满意")
        expect(page.locator("#callbacks")).to_contain_text("满意")
        fits(page)
        page.goto(f"{site}/callbacks?show=mine")
        expect(rows).to_have_count(1)
        expect(page.locator(f"tr[data-number='{b}']")).to_be_visible()
        expect(page.locator("#nav-callbacks")).to_have_text("1")
