"""复查 / 复核 through the pages: the county records a request for 复查, the city (the office above)
orders re-handling, the unit reports again, the county approves, the county records a request for
复核, the province upholds, and the matter is concluded (终结)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import Actor, CaseService
from duban.services.users import create_user
from tests.appworld import PASSWORD, AppWorld
from tests.factories import REPORTED, complaint, org_id, unit_actor
from tests.web.test_journeys import do_action, signed_in


def test_reexamination_orders_rehandling_then_recheck_upholds_and_the_matter_is_concluded(
        browser: Any, site: str, aw: AppWorld, shots: Path) -> None:
    create_user(aw.ctx, username="county-supervisor", password=PASSWORD, role="supervisor",
                org_code="GS-LZ-CG", display_name="区审核员")
    county = Actor("区分流员", "dispatcher", org_id(aw.ctx, "GS-LZ-CG"))
    service = CaseService(aw.ctx)
    number = service.register(complaint(office_code="GS-LZ-CG", subject_name="某小区物业",
                                        subject_org_code=None, title="小区停水一周无人处理"),
                              actor=county).case.number
    service.act(number, "transfer", actor=county, form={"unit": "GS-LZ-CG-SWJ"})
    service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-SWJ"),
                form={**REPORTED, "text": "已恢复供水"})
    service.act(number, "approve", actor=Actor("区审核员", "supervisor", org_id(aw.ctx, "GS-LZ-CG")),
                form={"note": "属实，已解决"})

    with signed_in(browser, site, "county") as page:  # the complainant phoned the county office
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#review-stage")).to_contain_text("可请求复查至")
        expect(page.locator("#action-request_recheck")).to_have_count(0)
        do_action(page, "request_reexamination", reason="供水仍时断时续，对处理意见不满意")
        expect(page.locator("#state")).to_have_text("复查中")
        expect(page.locator("#deadline")).to_contain_text("复查意见期限")
        expect(page.locator("#action-decide_reexamination")).to_have_count(0)  # not the county's to decide

    with signed_in(browser, site, "other-unit") as page:  # the unit: not while it is under review
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("h1")).not_to_contain_text(number)

    with signed_in(browser, site, "city") as page:
        expect(page.locator("#reviewing h2")).to_contain_text("待作出复查、复核意见")
        expect(page.locator("#reviewing h2")).to_contain_text("1件")
        page.locator("#reviewing").get_by_role("link", name=number).click()
        do_action(page, "decide_reexamination", reply="事实不清，责成重新办理")
        # the opinion is required
        expect(page.locator("#action-decide_reexamination .error")).to_have_count(1)
        do_action(page, "decide_reexamination", opinion="rehandle", reply="事实不清，责成重新办理")
        expect(page.locator("#state")).to_have_text("退回重办")
        expect(page.locator("#review-requests")).to_contain_text("撤销原处理意见，责成重新办理")
        page.screenshot(path=shots / "review-1-city-rehandle.png", full_page=True)

    with signed_in(browser, site, "other-unit") as page:
        page.goto(f"{site}/cases/{number}")
        do_action(page, "submit_report", text="已更换供水管道，连续两周供水正常", finding="true",
                  actions_taken="更换供水管道")
        expect(page.locator("#state")).to_have_text("待审核")

    with signed_in(browser, site, "county-supervisor") as page:
        page.goto(f"{site}/cases/{number}")
        do_action(page, "approve", note="重新办理属实")
        expect(page.locator("#state")).to_have_text("审核通过待回访")

    with signed_in(browser, site, "county") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#action-request_reexamination")).to_have_count(0)  # 复查 was had
        do_action(page, "request_recheck", reason="对复查后的处理结果仍不满意")
        expect(page.locator("#state")).to_have_text("复核中")

    with signed_in(browser, site, "city") as page:  # the city reexamined it: the province rechecks
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#action-decide_recheck")).to_have_count(0)

    with signed_in(browser, site, "supervisor") as page:
        expect(page.locator("#reviewing h2")).to_contain_text("1件")
        page.goto(f"{site}/cases/{number}")
        do_action(page, "decide_recheck", opinion="uphold", reply="经复核，维持处理意见")
        expect(page.locator("#state")).to_have_text("已办结")
        expect(page.locator("#review-stage")).to_contain_text("已终结")

    with signed_in(browser, site, "county") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#review-stage")).to_contain_text("已终结")
        expect(page.locator("#action-request_recheck")).to_have_count(0)
        expect(page.locator("#action-request_reexamination")).to_have_count(0)
        page.screenshot(path=shots / "review-2-concluded.png", full_page=True)
