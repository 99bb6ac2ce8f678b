"""The documents journey in Chromium, on a desktop and on a phone: a dispatcher opens a case, prints
its 交办单, and takes the case list away as XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from duban.services import CaseService
from tests.appworld import AppWorld
from tests.factories import DISPATCHER, complaint
from tests.web.devices import fits, signed_in_on, tap


def test_a_dispatcher_prints_a_transfer_form_and_downloads_the_list(
        browser: Any, aw: AppWorld, site: str, shots: Path, tmp_path: Path, device: str) -> None:
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="某小区供水管网老化漏水"), actor=DISPATCHER).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})

    with signed_in_on(browser, site, "dispatcher", device) as page:
        page.goto(f"{site}/cases")
        tap(page.get_by_role("link", name=number))
        tap(page.locator("#documents-link a"))
        tap(page.get_by_role("button", name="印发交办单"))
        expect(page.locator("#doc-number")).to_have_text("甘督交〔2023〕1号")
        expect(page.locator("#doc-title")).to_have_text("社会监督意见交办单")
        expect(page.locator("#doc-to")).to_have_text("城关区人民政府：")
        expect(page.locator("#doc-date")).to_have_text("2023年9月27日")
        fits(page)  # on a phone the sheet reflows to the screen; the printout keeps the A4 form
        page.screenshot(path=shots / f"d1-transfer-form-{device}.png")
        page.emulate_media(media="print")
        expect(page.locator(".bar")).to_be_hidden()  # the printout is the sheet alone
        page.screenshot(path=shots / f"d1-transfer-form-print-{device}.png", full_page=True)
        page.emulate_media(media="screen")
        with page.expect_download() as pdf:
            tap(page.get_by_role("link", name="下载PDF"))
        assert pdf.value.suggested_filename.endswith(".pdf")
        pdf.value.save_as(tmp_path / "form.pdf")
        assert (tmp_path / "form.pdf").read_bytes().startswith(b"%PDF")

        page.goto(f"{site}/cases?open=1")
        fits(page)
        with page.expect_download() as xlsx:
            tap(page.locator("#download-xlsx"))
        assert xlsx.value.suggested_filename.endswith(".xlsx")
        xlsx.value.save_as(tmp_path / "cases.xlsx")
        from openpyxl import load_workbook

        rows = list(load_workbook(tmp_path / "cases.xlsx", read_only=True).active.iter_rows(values_only=True))
        assert rows[1][0] == number
