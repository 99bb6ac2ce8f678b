"""Documents and downloads: a case's 交办单/督办函/重要工作提示/通报 (issued, printed, as PDF), and
the case list and the report page as XLSX and PDF.

A document page stands alone (no site layout): it is the sheet that is printed. Downloads read
through the same doors as the pages they come from (reading.list_cases with the viewer; the
report for the viewer's office), and a file that leaves Duban carries no identity a unit may not
take away (duban.reports.export).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from duban.config.documents import get_documents
from duban.reports.documents import document_pdf, html_pdf_bytes, render_case_list, render_document
from duban.reports.export import CASE_COLUMNS, COMPLAINANT_COLUMNS, export_cases, export_rows
from duban.services.documents import compose, documents_of, issuable, issue_document
from duban.services.reading import case_summary
from duban.web.casepages import list_filter
from duban.web.forms import posted_form
from duban.web.pages import _reader, web_of
from duban.web.render import CSP_INLINE_STYLE

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(body: bytes, *, media_type: str, name: str, fallback: str) -> Response:
    """A download: the Chinese file name for browsers that read RFC 6266's filename*, an ASCII
    one for the rest; never cached (it holds case data)."""
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": disposition, "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


@router.get("/cases/{number}/documents", response_class=HTMLResponse)
def documents_page(request: Request, number: str) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    number = number[:40]
    summary = case_summary(web.ctx, number, actor=viewer.actor)
    return web.render(request, "documents.html", viewer=viewer, number=number, case=summary["case"],
                      unit=summary["unit"], issued=documents_of(web.ctx, number, actor=viewer.actor),
                      kinds=issuable(disposition=summary["case"]["disposition"],
                                     has_unit=summary["unit"] is not None, actor=viewer.actor))


@router.post("/cases/{number}/documents")
def issue(request: Request, number: str, posted: Posted) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    number = number[:40]
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        from duban.web.casepages import _csrf_problem

        return web.error_page(request, _csrf_problem(web))
    issued = issue_document(web.ctx, number, (posted.get("kind") or "")[:32], actor=viewer.actor)
    return RedirectResponse(f"/cases/{quote(number)}/documents/{issued.id}", status_code=303)


@router.get("/cases/{number}/documents/{document_id:int}.pdf")
def document_as_pdf(request: Request, number: str, document_id: int) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    paper = compose(web.ctx, number[:40], document_id, actor=viewer.actor)
    label = get_documents().kinds[paper.kind].label
    return attachment(document_pdf(paper), media_type="application/pdf",
                      name=f"{paper.number}{label}.pdf", fallback=f"document-{document_id}.pdf")


@router.get("/cases/{number}/documents/{document_id:int}", response_class=HTMLResponse)
def document_page(request: Request, number: str, document_id: int) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    number = number[:40]
    paper = compose(web.ctx, number, document_id, actor=viewer.actor)
    base = f"/cases/{quote(number)}"
    text = web.ctx.labels.text
    links = [(f"{base}/documents/{document_id}.pdf", text["document_pdf"]),
             (f"{base}/documents", text["documents_all"]), (base, text["back_to_case"])]
    response = HTMLResponse(render_document(paper, links=links))
    response.headers["Content-Security-Policy"] = CSP_INLINE_STYLE
    return response


def _stamp(web_today: dt.date) -> str:
    return web_today.isoformat()


@router.get("/cases.xlsx")
def cases_xlsx(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    flt, _, _, _ = list_filter(request, web, viewer)
    flt.limit, flt.offset = get_documents().downloads.xlsx_rows, 0
    with tempfile.TemporaryDirectory(prefix="duban-list-") as tmp:
        path = Path(tmp) / "cases.xlsx"
        export_cases(web.ctx, flt, path, actor=viewer.actor)
        body = path.read_bytes()
    sheet = web.ctx.labels.report.get("sheet_ledger", "cases")
    name = web.ctx.labels.text["file_cases_xlsx"].format(sheet=sheet, day=_stamp(web.ctx.today()))
    return attachment(body, media_type=XLSX, name=name,
                      fallback=f"cases-{_stamp(web.ctx.today())}.xlsx")


@router.get("/cases.pdf")
def cases_pdf(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    flt, _, _, _ = list_filter(request, web, viewer)
    limit = get_documents().downloads.pdf_rows
    flt.limit, flt.offset = limit + 1, 0
    headers, rows = export_rows(web.ctx, flt, actor=viewer.actor)
    with_identity = len(headers) > len(CASE_COLUMNS)
    columns = [*CASE_COLUMNS, *(COMPLAINANT_COLUMNS if with_identity else ())]
    today = _stamp(web.ctx.today())
    text = web.ctx.labels.text
    html = render_case_list(title=text["case_list_title"].format(org=viewer.org.name),
                            meta=text["exported_on"].format(day=today), columns=columns,
                            headers=headers, rows=rows[:limit], cut=len(rows) > limit)
    return attachment(html_pdf_bytes(html), media_type="application/pdf",
                      name=text["file_cases_pdf"].format(day=today),
                      fallback=f"cases-{today}.pdf")


def _report(request: Request):  # type: ignore[no-untyped-def]
    from duban.reports import build_report, parse_period
    from duban.reports.period import current

    web = web_of(request)
    viewer = _reader(request)
    text = (request.query_params.get("period") or "").strip()[:40]
    period = parse_period(text) if text else current("month", web.ctx.today())
    return web, viewer, build_report(web.ctx, period, viewer.org.code)


@router.get("/reports.xlsx")
def report_xlsx(request: Request) -> Response:
    from duban.reports.xlsx import write_xlsx

    web, _, report = _report(request)
    with tempfile.TemporaryDirectory(prefix="duban-report-") as tmp:
        path = write_xlsx(report, Path(tmp) / "report.xlsx")
        body = Path(path).read_bytes()
    name = web.ctx.labels.text["file_report_xlsx"].format(day=_stamp(web.ctx.today()))
    return attachment(body, media_type=XLSX, name=name,
                      fallback=f"report-{_stamp(web.ctx.today())}.xlsx")


@router.get("/reports.pdf")
def report_pdf(request: Request) -> Response:
    from duban.reports.html import render_report_page

    web, _, report = _report(request)
    body = html_pdf_bytes(render_report_page(report))
    name = web.ctx.labels.text["file_report_pdf"].format(day=_stamp(web.ctx.today()))
    return attachment(body, media_type="application/pdf", name=name,
                      fallback=f"report-{_stamp(web.ctx.today())}.pdf")

