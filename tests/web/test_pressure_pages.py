"""The pressure page: a leader and a supervisor decide what the ladder proposed, the office records
the interview as held; and the page's contract over plain HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.clock import SimulatedClock, parse_local
from duban.services import CaseService
from duban.services.sweeps import run_deadline_sweep
from tests.appworld import AppWorld
from tests.factories import transferred
from tests.web.test_journeys import signed_in
from tests.web.test_pages_http import csrf_of
from tests.web.test_pages_http import signed_in as http_signed_in


def late_case(aw: AppWorld, last: str = "2023-03-30") -> str:
    """A case transferred on 2023-03-01 (due 03-08) and swept on each ladder day up to `last`: by
    03-30 the ladder proposed 约谈, 通报 and 升级督办 (one step a sweep: 升级督办 the day after 通报)."""
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(parse_local("2023-03-01 10:00"))
    number = transferred(aw.ctx)
    for day in ("2023-03-09", "2023-03-13", "2023-03-15", "2023-03-22", "2023-03-29", "2023-03-30"):
        if day <= last:
            clock.set(parse_local(f"{day} 08:30"))
            run_deadline_sweep(aw.ctx)
    clock.set(parse_local(f"{last} 10:00"))
    return number


def test_leaders_decide_proposed_pressure_and_the_office_records_the_interview(
        browser: Any, aw: AppWorld, site: str, shots: Path) -> None:
    number = late_case(aw)
    with signed_in(browser, site, "leader") as page:
        page.get_by_role("link", name="统计").click()
        expect(page.locator("#kpi-proposals")).to_have_text("3")
        page.locator("#kpi-proposals").click()
        expect(page.locator("#proposal-count")).to_contain_text("3件")
        notice = page.locator("tr[data-action=public_notice]")
        expect(notice.locator(".proposed")).to_have_text("通报")
        notice.locator("input[value=change]").check()
        notice.locator("select[name=action]").select_option("copy_notice")
        notice.get_by_role("button", name="提交决定").click()
        notice = page.locator("tr[data-action=public_notice]")
        expect(notice.locator(".error")).to_have_text("请填写理由")
        notice.locator("textarea[name=reason]").fill("单位已书面说明，先抄告分管领导")
        notice.get_by_role("button", name="提交决定").click()
        expect(page.locator(".flash")).to_have_text("已完成：决定督促措施")
        expect(page.locator("#proposal-count")).to_contain_text("2件")
        page.screenshot(path=shots / "pressure-1-leader.png", full_page=True)

    with signed_in(browser, site, "supervisor") as page:
        page.get_by_role("link", name="督促措施").click()
        raise_ = page.locator("tr[data-action=step_up]")
        expect(raise_.locator(".proposed")).to_have_text("升级督办")
        raise_.locator("input[value=dismiss]").check()
        raise_.locator("textarea[name=reason]").fill("单位已制定整改方案，暂不升级")
        raise_.get_by_role("button", name="提交决定").click()
        expect(page.locator(".flash")).to_have_text("已完成：决定督促措施")
        page.locator("tr[data-action=interview]").get_by_role("button", name="提交决定").click()  # 同意
        expect(page.locator("#proposal-count")).to_contain_text("0件")
        expect(page.locator("#interview-count")).to_contain_text("1件")

    with signed_in(browser, site, "dispatcher") as page:
        page.get_by_role("link", name="督促措施").click()
        expect(page.locator("#proposals")).to_have_count(0)  # a dispatcher records, does not decide
        row = page.locator(f"#interviews tr[data-number='{number}']")
        row.locator("input[name=held_on]").fill("2023-03-30")
        row.get_by_role("button", name="登记约谈已开展").click()
        row = page.locator(f"#interviews tr[data-number='{number}']")
        expect(row.locator(".error")).to_have_text("请填写约谈纪要")
        row.locator("textarea[name=minutes]").fill("约谈城关区政府分管负责同志，要求月底前结清欠款")
        row.get_by_role("button", name="登记约谈已开展").click()
        expect(page.locator(".flash")).to_have_text("已完成：登记约谈已开展")
        expect(page.locator("#interview-count")).to_contain_text("0件")
        page.screenshot(path=shots / "pressure-2-held.png", full_page=True)
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("body")).to_contain_text("登记约谈已开展")
    case = CaseService(aw.ctx).get(number)
    assert case.disposition == "transfer"  # the raise was dismissed


def test_the_page_is_for_those_who_decide_or_hold_and_hides_what_is_not_theirs(
        aw: AppWorld, site: str) -> None:
    late_case(aw, last="2023-03-22")
    with http_signed_in(site, "unit") as browser:
        assert browser.get("/pressure").status_code == 403
        assert "督促措施" not in browser.get("/inbox").text
        assert 'id="kpi-proposals"' not in browser.get("/dashboard").text
    with http_signed_in(site, "city") as browser:  # the province's case is not the city's to decide
        page = browser.get("/pressure")
        assert page.status_code == 200 and "没有待决定的督促措施建议" in page.text
        confirm = {"csrf": csrf_of(page.text), "decision": "confirm"}
        assert browser.post("/pressure/proposals/1", data=confirm).status_code == 404
    with http_signed_in(site, "supervisor") as browser:
        page = browser.get("/pressure")
        assert 'data-action="interview"' in page.text
        stale = browser.post("/pressure/proposals/1", data={"csrf": "0" * 64, "decision": "confirm"})
        assert stale.status_code == 403
        confirm = {"csrf": csrf_of(page.text), "decision": "confirm"}
        answer = browser.post("/pressure/proposals/1", data=confirm, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/pressure?done=decide_pressure"
        assert browser.post("/pressure/proposals/1", data=confirm).status_code == 409
