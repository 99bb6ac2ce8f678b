"""回访 through the case page: an attempt that reaches nobody (联系不上) leaves the case waiting,
then a visit that finds the complainant 基本满意 closes it; a 不满意 without its reason and a
close without a callback are refused on the form. On a desktop and on a phone (390 px)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, complaint, unit_actor
from tests.web.test_journeys import do_action, signed_in


def verified(aw: AppWorld) -> str:
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="城关区某小区供暖不热"), actor=DISPATCHER).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "已更换换热站循环泵，室温达标。"})
    service.act(number, "approve", actor=SUPERVISOR)
    return number


@pytest.mark.parametrize("width", [1280, 390])
def test_an_unreachable_attempt_then_a_basically_satisfied_visit_closes_the_case(
        browser: Any, site: str, aw: AppWorld, shots: Path, width: int) -> None:
    number = verified(aw)
    with signed_in(browser, site, "supervisor", width=width) as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#state")).to_have_text("审核通过待回访")

        # A real-name case is not closed without its callback or a listed reason.
        do_action(page, "close", note="已办好")
        expect(page.locator("#action-close .error")).to_contain_text("实名反映")
        expect(page.locator("#state")).to_have_text("审核通过待回访")

        do_action(page, "record_callback", method="phone", result="unreachable", note="两次拨打无人接听")
        expect(page.locator("#state")).to_have_text("审核通过待回访")  # the state stays
        expect(page.locator("#callbacks")).to_contain_text("联系不上")
        expect(page.locator("#timeline")).to_contain_text("登记回访（电话·联系不上）")

        do_action(page, "record_callback", method="phone", result="unsatisfied")
        expect(page.locator("#action-record_callback .error")).to_contain_text("理由")
        expect(page.locator("#state")).to_have_text("审核通过待回访")
        # The form fits the screen (a phone's too): no field or button runs off its right edge.
        for part in ("form", "[name=method]", "[name=result]", "[name=reason]", "button[type=submit]"):
            box = page.locator(f"#action-record_callback {part}").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, part
        page.screenshot(path=shots / f"callback-form-{width}.png", full_page=True)

        do_action(page, "record_callback", method="visit", result="basically_satisfied",
                  note="上门回访，室温已达标")
        expect(page.locator("#state")).to_have_text("已办结")
        rows = page.locator("#callbacks tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("电话")
        expect(rows.nth(1)).to_contain_text("走访")
        expect(rows.nth(1)).to_contain_text("基本满意")
        expect(page.locator("#timeline")).to_contain_text("登记回访（走访·基本满意）")
        page.screenshot(path=shots / f"callback-{width}.png", full_page=True)
