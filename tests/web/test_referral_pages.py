"""移交纪检监察机关 through the pages: the dispatcher refers a case whose handling goes on, the
commission acknowledges and records its disposal, the supervisor reads it; the unit that goes on
handling sees its case and nothing of the referral."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from duban.services.users import create_user
from tests.appworld import PASSWORD, AppWorld
from tests.factories import DISPATCHER, complaint
from tests.web.test_journeys import do_action, signed_in


def test_a_referral_goes_from_the_dispatcher_to_the_commission_and_stays_out_of_the_unit_s_sight(
        browser: Any, site: str, aw: AppWorld, shots: Path) -> None:
    create_user(aw.ctx, username="commission", password=PASSWORD, role="unit", org_code="GS-LZ-JW",
                display_name="市纪委监委用户")
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="反映某干部办事吃拿卡要"), actor=DISPATCHER).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})

    with signed_in(browser, site, "dispatcher") as page:
        page.goto(f"{site}/cases/{number}")
        box = page.locator("#action-refer")
        box.locator("summary").click()
        box.locator("[name=handling_continues]").check()  # the unit goes on with the matter itself
        do_action(page, "refer", note="办理中发现干部违纪线索")
        expect(page.locator("#state")).to_have_text("已转办")  # the unit's handling continues

    with signed_in(browser, site, "commission") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#action-submit_report")).to_have_count(0)  # not the commission's work
        do_action(page, "acknowledge_referral")
        do_action(page, "record_result", text="经初步核实，对相关人员进行谈话提醒")
        expect(page.locator("#action-record_result .error")).to_have_count(1)  # the outcome is required
        do_action(page, "record_result", outcome="talk_inquiry", text="经初步核实，对相关人员进行谈话提醒")
        expect(page.locator("#timeline")).to_contain_text("登记纪检监察机关处置结果")
        page.screenshot(path=shots / "referral-1-commission.png", full_page=True)

    with signed_in(browser, site, "supervisor") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#timeline")).to_contain_text("纪检监察机关受理")
        expect(page.locator("#timeline")).to_contain_text("登记纪检监察机关处置结果")

    with signed_in(browser, site, "unit") as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#state")).to_have_text("已转办")
        expect(page.locator("body")).not_to_contain_text("纪检")  # nothing of the referral
        expect(page.locator("#action-submit_report")).to_have_count(1)  # its own work goes on
        page.screenshot(path=shots / "referral-2-unit.png", full_page=True)
