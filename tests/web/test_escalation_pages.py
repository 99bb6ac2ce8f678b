"""提级直办 through the pages: the county dispatcher escalates, the city handles and reviews, and the
county reads the case with no action left to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from duban.services.users import create_user
from tests.appworld import PASSWORD, SECRET_NAME, AppWorld
from tests.factories import CLERK, complaint
from tests.web.test_journeys import do_action, signed_in


def test_the_county_escalates_the_city_reviews_and_the_county_only_reads(
        browser: Any, site: str, aw: AppWorld, shots: Path) -> None:
    for username, role, org in (("county-supervisor", "supervisor", "GS-LZ-CG"),
                                ("city-dispatcher", "dispatcher", "GS-LZ")):
        create_user(aw.ctx, username=username, password=PASSWORD, role=role, org_code=org,
                    display_name=f"{username}用户")
    number = CaseService(aw.ctx).register(complaint(
        office_code="GS-LZ-CG", title="某小区供水管网改造停工两年", complainant_name=SECRET_NAME,
        subject_name="某物业公司", subject_kind="enterprise", subject_org_code=None), actor=CLERK).case.number

    with signed_in(browser, site, "county") as page:  # the county office's dispatcher
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#complainant")).to_contain_text(SECRET_NAME)
        do_action(page, "escalate", note="县级协调不动，提请市办直办")
        expect(page.locator("#state")).to_have_text("提级直办中")
        expect(page.locator("#record-office")).to_contain_text("兰州市办")
        expect(page.locator("#unit")).to_have_text("兰州市办")
        expect(page.locator("#held-elsewhere")).to_contain_text("该件现由兰州市办负责办理")
        expect(page.locator("details.action")).to_have_count(0)
        expect(page.locator("#complainant")).to_contain_text(SECRET_NAME)  # it received the case
        page.screenshot(path=shots / "escalation-1-county-after.png", full_page=True)

    with signed_in(browser, site, "city-dispatcher") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#complainant")).to_contain_text(SECRET_NAME)  # an office above the receiver
        do_action(page, "submit_report", text="市办直接协调，施工方已复工，预计月底通水。", finding="true",
                  actions_taken="市办直接协调施工方复工")
        expect(page.locator("#state")).to_have_text("待审核")

    with signed_in(browser, site, "county-supervisor") as page:
        expect(page.locator("#review")).not_to_contain_text(number)  # not its work to review
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#state")).to_have_text("待审核")
        expect(page.locator(".report")).to_contain_text("施工方已复工")  # it reads the report …
        expect(page.locator("#held-elsewhere")).to_be_visible()
        expect(page.locator("#action-approve")).to_have_count(0)  # … and cannot review it
        expect(page.locator("#action-send_back")).to_have_count(0)
        page.goto(f"{site}/cases?state=reported")
        expect(page.locator("main")).to_contain_text(number)  # the list shows what the page shows
        page.screenshot(path=shots / "escalation-2-county-reads.png", full_page=True)

    with signed_in(browser, site, "city") as page:  # the city office's supervisor
        page.locator("#review").get_by_role("link", name=number).click()
        expect(page.locator("#held-elsewhere")).to_have_count(0)
        expect(page.locator("#action-approve")).to_have_count(1)
        do_action(page, "send_back", reasons="未附通水证明，请补充后重报")
        expect(page.locator("#state")).to_have_text("退回重办")
        page.screenshot(path=shots / "escalation-3-city-reviewed.png", full_page=True)
    assert CaseService(aw.ctx).get(number).state == "returned"
