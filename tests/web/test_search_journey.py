"""The case list in a browser, on a desktop and on a phone: search by a caller's phone, filter by
names, sort by a header, page by number, save a filter and open it again; a unit typing the same
phone finds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import SECRET_NAME, SECRET_PHONE, AppWorld
from tests.factories import CLERK, DISPATCHER, complaint
from tests.web.devices import fits, lines, signed_in_on, tap


def test_a_dispatcher_searches_filters_sorts_pages_and_saves_a_filter(
        browser: Any, site: str, aw: AppWorld, shots: Path, device: str) -> None:
    service = CaseService(aw.ctx)
    secret = service.register(complaint(title="某小区冬季供暖温度不达标", category="heating",
                                        complainant_name=SECRET_NAME, complainant_phone=SECRET_PHONE),
                              actor=CLERK).case.number
    service.act(secret, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    others = [service.register(complaint(title=f"道路破损第{i}处", complainant_phone=f"1380000{i:04d}"),
                               actor=CLERK).case.number for i in range(55)]
    with signed_in_on(browser, site, "dispatcher", device) as page:
        page.goto(f"{site}/cases")
        expect(page.locator("#case-total")).to_contain_text("共 56 件，第 1/2 页")
        fits(page)
        tap(page.get_by_role("navigation", name="分页").get_by_role("link", name="2", exact=True))
        expect(page.locator("table.cases tbody tr")).to_have_count(6)

        page.fill("#f-text", SECRET_PHONE)
        tap(page.get_by_role("button", name="查询"))
        expect(page.locator("#case-total")).to_have_text("共 1 件")
        expect(page.locator("table.cases")).to_contain_text(secret)
        row = page.locator(f"tr[data-number='{secret}']")  # read as lines, not columns of characters
        assert lines(row.get_by_role("link", name=secret)) == 1
        assert lines(row.locator("td", has_text="某小区冬季供暖温度不达标")) <= 2
        fits(page)
        page.locator("#case-total").scroll_into_view_if_needed()
        page.screenshot(path=shots / f"search-{device}.png")

        page.fill("#f-text", "")
        page.fill("#f-unit", "城关区人民政府")  # a name, not an org code
        page.select_option("#f-category", "heating")
        tap(page.get_by_role("button", name="查询"))
        expect(page.locator("table.cases tbody tr")).to_have_count(1)
        page.fill("#f-save-name", "城关区供暖")
        tap(page.get_by_role("button", name="保存"))
        expect(page.get_by_role("link", name="城关区供暖")).to_be_visible()

        page.goto(f"{site}/cases?text=道路破损")
        tap(page.get_by_role("link", name="编号"))  # sort by number, then the other way
        first = page.locator("table.cases tbody tr").first
        expect(first).to_contain_text(sorted(others)[0])
        tap(page.get_by_role("link", name="编号↑"))
        expect(page.locator("table.cases tbody tr").first).to_contain_text(sorted(others)[-1])
        fits(page)

        tap(page.get_by_role("link", name="城关区供暖"))
        expect(page.locator("#f-unit")).to_have_value("城关区人民政府")
        expect(page.locator("table.cases tbody tr")).to_have_count(1)
        tap(page.get_by_role("button", name="删除常用筛选 城关区供暖"))
        expect(page.get_by_role("link", name="城关区供暖")).to_have_count(0)

    with signed_in_on(browser, site, "unit", device) as page:
        page.goto(f"{site}/cases")
        expect(page.locator("table.cases")).to_contain_text(secret)  # the unit's own case
        page.fill("#f-text", SECRET_PHONE)
        tap(page.get_by_role("button", name="查询"))
        expect(page.locator("#case-total")).to_have_text("共 0 件")
