"""附件 through the pages, on a desktop and on a phone: the clerk registers a letter's scan, the
unit (without the complainant's consent) never sees it, attaches photos to its report (an
executable renamed .pdf refused in Chinese), and the office downloads the unit's photo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from duban.services.attachments import list_attachments
from tests import filesamples as s
from tests.appworld import AppWorld, live_client
from tests.factories import DISPATCHER, REPORTED
from tests.web.devices import act, attach, fits, signed_in_on, tap
from tests.web.test_pages_http import signed_in as http_signed_in

REPORT = {"text": "已维修管网", "finding": "true", "actions_taken": REPORTED["actions_taken"]}


def test_a_report_photo_uploaded_by_the_unit_downloads_for_the_office_and_the_letter_stays_hidden(
        browser: Any, site: str, aw: AppWorld, shots: Path, device: str) -> None:
    with signed_in_on(browser, site, "clerk", device) as page:
        tap(page.get_by_role("link", name="登记受理"))
        page.fill("#r-title", "小区供水管网漏水无人维修")
        page.fill("#r-complainant_name", "张三")
        attach(page, "#r-files", [
            {"name": "张三来信.pdf", "mimeType": "image/jpeg", "buffer": s.PDF}])
        tap(page.get_by_role("button", name="登记"))
        expect(page.locator("#attachments")).to_contain_text("张三来信.pdf")
        fits(page)
        number = page.url.split("/cases/")[1].split("?")[0]
    CaseService(aw.ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})

    with signed_in_on(browser, site, "unit", device) as page:
        page.goto(f"{site}/cases/{number}")
        expect(page.locator("#attachments")).not_to_contain_text("来信")  # no consent: not shown at all
        tap(page.locator("#action-submit_report summary"))
        attach(page, "#submit_report-files", [
            {"name": "整改报告.pdf", "mimeType": "application/pdf", "buffer": s.EXE}])
        act(page, "submit_report", **REPORT)
        expect(page.locator("#action-submit_report .error")).to_contain_text("只收PDF")
        attach(page, "#submit_report-files", [
            {"name": "现场照片.png", "mimeType": "application/octet-stream", "buffer": s.png()}])
        act(page, "submit_report", **REPORT)
        expect(page.locator("#state")).not_to_have_text("已交办")
        expect(page.locator("#attachments")).to_contain_text("现场照片.png")
        fits(page)
        page.screenshot(path=shots / f"attachments-unit-{device}.png", full_page=True)

    with signed_in_on(browser, site, "supervisor", device) as page:
        page.goto(f"{site}/cases/{number}")
        link = page.locator("#attachments a", has_text="现场照片.png")
        with page.expect_download() as waiting:
            tap(link)
        got = waiting.value
        assert got.suggested_filename == "现场照片.png"
        assert Path(got.path()).read_bytes() == s.png()

    [letter] = [a for a in list_attachments(aw.ctx, number, actor=DISPATCHER) if a["kind"] == "registration"]
    href = f"/cases/{number}/attachments/{letter['id']}"
    with http_signed_in(site, "unit") as client:  # the letter's own address: not found for the unit
        assert "张三来信" not in client.get(f"/cases/{number}").text
        refused = client.get(href)
        assert refused.status_code == 404 and s.PDF not in refused.content
    with live_client(base_url=site) as anonymous:
        assert anonymous.get(href).status_code == 303  # to the login page
