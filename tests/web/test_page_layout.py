"""In Chromium, at a desktop's width and a phone's (390×844): no main page scrolls sideways (a wide
table scrolls inside itself) and no link, button or field on them is too small for a finger; the
inbox count and the dashboard's counts lead to the cases (account administration at both sizes:
tests/web/test_account_journey.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import DISPATCHER, REPORTED, registered, transferred, unit_actor
from tests.web.devices import PHONE_WIDTH, TAP_HEIGHT
from tests.web.test_journeys import signed_in

# Every link, button and field a person can see, shorter than a finger's target.
SMALL_TARGETS = """min => [...document.querySelectorAll(
    'main a, header a, button, select, summary, input:not([type=hidden]), textarea')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().height < min)
    .map(e => e.outerHTML.slice(0, 80))"""
PAGES = ["/inbox", "/cases", "/cases/{number}", "/dashboard", "/cases/new", "/admin/users", "/reports",
         "/board", "/admin/users/unit", "/account/password"]


@pytest.mark.parametrize("width", [1280, 390])
def test_no_main_page_scrolls_sideways_and_the_counts_open_their_cases(
        browser: Any, site: str, aw: AppWorld, shots: Path, width: int) -> None:
    number = transferred(aw.ctx, title="城关区某小区二次供水设施长期失修，居民饮水浑浊发黄" * 2)
    CaseService(aw.ctx).act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                            form={**REPORTED, "text": "已组织维修" * 80})
    for n in range(3):
        registered(aw.ctx, title=f"第{n}件待分流的监督意见")
    CaseService(aw.ctx).act(registered(aw.ctx), "supervise", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ"})
    with signed_in(browser, site, "admin", width=width) as page:
        for path in PAGES:
            page.goto(site + path.format(number=number))
            expect(page.locator("main")).to_be_visible()
            wide = page.evaluate("document.scrollingElement.scrollWidth")
            assert wide <= width, f"{path} is {wide}px wide at {width}px"
            if width <= PHONE_WIDTH:
                small = page.evaluate(SMALL_TARGETS, TAP_HEIGHT)
                assert not small, f"{path}: too small for a finger: {small}"
            if path == "/cases/{number}":
                page.screenshot(path=str(shots / f"case-{width}.png"), full_page=True)
        expect(page.locator("#inbox-count")).to_have_text("4")  # triage 3, review 1
        page.goto(f"{site}/dashboard")
        expect(page.locator("#kpi-open")).to_have_text("5")
        page.locator("#kpi-open").click()
        expect(page).to_have_url(f"{site}/cases?open=1")
        expect(page.locator("table.cases tbody tr")).to_have_count(5)
        page.goto(f"{site}/dashboard")
        page.get_by_role("link", name="督办中").click()
        expect(page.locator("table.cases tbody tr")).to_have_count(1)

