"""Documents and downloads over HTTP: issuing and printing a case's documents, the case list and
the report page as XLSX and PDF, with the headers a browser needs and nothing a unit may not read."""

from __future__ import annotations

import io
import shutil
import subprocess
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from duban.services import CaseService
from tests.appworld import (  # noqa: F401
    SECRET_NAME,
    SECRET_PHONE,
    AppWorld,
    LiveServer,
    app_for,
    fast_password_hashing,
    make_world,
)
from tests.factories import DISPATCHER, complaint
from tests.web.test_pages_http import csrf_of, signed_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def aw(engine) -> AppWorld:  # type: ignore[no-untyped-def]
    return make_world(engine)


@pytest.fixture
def site(aw: AppWorld):  # type: ignore[no-untyped-def]
    with LiveServer(app_for(aw)) as url:
        yield url


def _case(aw: AppWorld, **overrides: object) -> str:
    service = CaseService(aw.ctx)
    fields = {"title": "某小区供水管网老化漏水", "complainant_name": SECRET_NAME,
              "complainant_phone": SECRET_PHONE, **overrides}
    number = service.register(complaint(**fields), actor=DISPATCHER).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    return number


def _download(answer, media_type: str, suffix: str) -> bytes:  # type: ignore[no-untyped-def]
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith(media_type)
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"") and disposition.endswith(suffix)
    assert unquote(disposition.split("filename*=UTF-8''")[1]).endswith(suffix)
    assert answer.headers["cache-control"] == "no-store"
    assert len(answer.content) > 1000
    return answer.content


def _pdf_text(body: bytes) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=body, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def test_an_issued_transfer_form_prints_as_a_page_and_a_pdf_with_the_same_number(
        aw: AppWorld, site: str) -> None:
    number = _case(aw)
    with signed_in(site, "dispatcher") as browser:
        page = browser.get(f"/cases/{number}/documents")
        assert page.status_code == 200 and "印发交办单" in page.text and "印发督办函" not in page.text
        answer = browser.post(f"/cases/{number}/documents",
                              data={"kind": "transfer_form", "csrf": csrf_of(page.text)})
        assert answer.status_code == 303
        sheet = browser.get(answer.headers["location"])
        assert sheet.status_code == 200 and "甘督交〔2023〕1号" in sheet.text
        assert "'unsafe-inline'" in sheet.headers["content-security-policy"]
        assert SECRET_NAME not in sheet.text and SECRET_PHONE not in sheet.text
        again = browser.post(f"/cases/{number}/documents",
                             data={"kind": "transfer_form", "csrf": csrf_of(page.text)})
        assert again.headers["location"] == answer.headers["location"]  # a reprint, same number
        pdf = _download(browser.get(answer.headers["location"] + ".pdf"), "application/pdf", ".pdf")
        assert pdf.startswith(b"%PDF")
        text = _pdf_text(pdf)
        if text is not None:
            squeezed = "".join(text.split())
            assert "甘督交〔2023〕1号" in squeezed and "社会监督意见交办单" in squeezed
            assert "城关区人民政府" in squeezed and "2023年9月27日" in squeezed
            assert SECRET_NAME not in squeezed
    with signed_in(site, "unit") as browser:  # the unit reads the same document, cannot issue one
        listing = browser.get(f"/cases/{number}/documents")
        assert "甘督交〔2023〕1号" in listing.text and "<button" not in listing.text.split("<main")[-1]
        refused = browser.post(f"/cases/{number}/documents",
                               data={"kind": "transfer_form", "csrf": csrf_of(listing.text)})
        assert refused.status_code == 403
    with signed_in(site, "other-unit") as browser:  # out of scope: not found
        assert browser.get(answer.headers["location"]).status_code == 404
        assert browser.get(answer.headers["location"] + ".pdf").status_code == 404


def test_the_case_list_downloads_as_xlsx_and_pdf_with_the_screen_s_filter(aw: AppWorld, site: str) -> None:
    kept = _case(aw)
    _case(aw, title="另一件不在筛选中的", priority="normal")
    with signed_in(site, "unit") as browser:
        listing = browser.get("/cases?priority=enterprise")
        assert "/cases.xlsx?priority=enterprise" in listing.text
        body = _download(browser.get("/cases.xlsx?priority=enterprise"), XLSX, ".xlsx")
        rows = list(load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True))
        assert [r[0] for r in rows[1:]] == [kept]
        cells = " ".join(str(c) for r in rows for c in r if c is not None)
        assert SECRET_NAME not in cells and SECRET_PHONE not in cells
        pdf = _download(browser.get("/cases.pdf?priority=enterprise"), "application/pdf", ".pdf")
        text = _pdf_text(pdf)
        if text is not None:
            assert kept in text and "另一件" not in "".join(text.split())
    with signed_in(site, "dispatcher") as browser:  # an identity role takes the complainant along
        body = _download(browser.get("/cases.xlsx"), XLSX, ".xlsx")
        cells = " ".join(str(c) for r in load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(
            values_only=True) for c in r if c is not None)
        assert SECRET_NAME in cells


def test_the_report_page_offers_its_ledger_as_xlsx_and_pdf(aw: AppWorld, site: str) -> None:
    _case(aw)
    with signed_in(site, "leader") as browser:
        page = browser.get("/reports?period=2023-09")
        assert "/reports.xlsx?period=2023-09" in page.text and "/reports.pdf?period=2023-09" in page.text
        body = _download(browser.get("/reports.xlsx?period=2023-09"), XLSX, ".xlsx")
        assert "台账" in load_workbook(io.BytesIO(body), read_only=True).sheetnames
        pdf = _download(browser.get("/reports.pdf?period=2023-09"), "application/pdf", ".pdf")
        assert pdf.startswith(b"%PDF")
    with signed_in(site, "unit") as browser:
        assert browser.get("/reports.xlsx").status_code == 403
        assert browser.get("/reports.pdf").status_code == 403
