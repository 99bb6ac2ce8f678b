"""/api/cases/{number}/documents: list, issue (numbered once), read as the recipient reads it, PDF;
the web's rules: who issues each kind, identity only with consent, out of scope is not found."""

from __future__ import annotations

import re

import httpx

from duban.services import CaseService
from tests.appworld import SECRET_NAME, SECRET_PHONE, AppWorld
from tests.factories import CLERK, DISPATCHER, complaint

NUMBER = re.compile(r"^[\u4e00-\u9fff]{2,6}〔2023〕[1-9]\d*号$")


def handed(aw: AppWorld, *, consent: bool = False, title: str = "某小区供水管网老化漏水") -> str:
    service = CaseService(aw.ctx)
    filed = complaint(title=title, complainant_name=SECRET_NAME, complainant_phone=SECRET_PHONE,
                      complainant_consent=consent)
    number = service.register(filed, actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    return number


def test_a_document_is_issued_once_with_its_number_and_listed(aw: AppWorld, client: httpx.Client) -> None:
    number = handed(aw)
    path = f"/api/cases/{number}/documents"
    answer = client.post(path, json={"kind": "transfer_form", "to": "GS-LZ-CG-GOV"},
                         headers=aw.auth("dispatcher"))
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert NUMBER.match(issued["number"]) and issued["kind_label"] == "交办单"
    assert (issued["case_number"], issued["to"]) == (number, "城关区人民政府")
    again = client.post(path, json={"kind": "transfer_form"}, headers=aw.auth("dispatcher")).json()
    assert (again["id"], again["number"]) == (issued["id"], issued["number"])  # a reprint, not a new number
    listed = client.get(path, headers=aw.auth("supervisor"))
    assert [d["number"] for d in listed.json()] == [issued["number"]]


def test_issuing_is_refused_by_role_kind_unit_and_scope(aw: AppWorld, client: httpx.Client) -> None:
    number = handed(aw)
    path = f"/api/cases/{number}/documents"
    refused = client.post(path, json={"kind": "transfer_form"}, headers=aw.auth("clerk"))
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert client.post(path, json={"kind": "work_reminder"}, headers=aw.auth("dispatcher")).status_code == 403
    unknown = client.post(path, json={"kind": "memo"}, headers=aw.auth("dispatcher"))
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"
    elsewhere = client.post(path, json={"kind": "transfer_form", "to": "GS-LZ-CG-SWJ"},
                            headers=aw.auth("dispatcher"))
    assert elsewhere.status_code == 422 and elsewhere.json()["field"] == "to"
    outside = client.post(path, json={"kind": "transfer_form"}, headers=aw.auth("other-unit"))
    missing = client.post("/api/cases/GS-2023-99999/documents", json={"kind": "transfer_form"},
                          headers=aw.auth("other-unit"))
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["code"] == missing.json()["code"] == "case_not_found"
    assert client.get(path, headers=aw.auth("dispatcher")).json() == []  # nothing was issued


def test_a_document_reads_as_its_recipient_may_read_it(aw: AppWorld, client: httpx.Client) -> None:
    hidden, agreed = handed(aw), handed(aw, consent=True, title="另一小区停水")
    papers = {}
    for number in (hidden, agreed):
        issued = client.post(f"/api/cases/{number}/documents", json={"kind": "transfer_form"},
                             headers=aw.auth("dispatcher")).json()
        answer = client.get(f"/api/cases/{number}/documents/{issued['id']}", headers=aw.auth("dispatcher"))
        assert answer.status_code == 200, answer.text
        papers[number] = answer.json()
        assert papers[number]["number"] == issued["number"] and papers[number]["to"] == "城关区人民政府"
        assert papers[number]["title"] == "社会监督意见交办单" and papers[number]["body"]
    assert SECRET_NAME not in str(papers[hidden]) and SECRET_PHONE not in str(papers[hidden])
    assert dict(papers[agreed]["facts"])["反映人"] == f"{SECRET_NAME}（{SECRET_PHONE}）"
    # Out of scope, or a document of another case under this number: not found.
    other_id = papers[agreed]["id"]
    assert client.get(f"/api/cases/{hidden}/documents/{other_id}",
                      headers=aw.auth("dispatcher")).status_code == 404
    for path in (f"/api/cases/{agreed}/documents/{other_id}", f"/api/cases/{agreed}/documents/{other_id}.pdf",
                 f"/api/cases/{agreed}/documents"):
        assert client.get(path, headers=aw.auth("other-unit")).status_code == 404


def test_a_document_downloads_as_a_pdf(aw: AppWorld, client: httpx.Client) -> None:
    number = handed(aw)
    issued = client.post(f"/api/cases/{number}/documents", json={"kind": "transfer_form"},
                         headers=aw.auth("dispatcher")).json()
    answer = client.get(f"/api/cases/{number}/documents/{issued['id']}.pdf", headers=aw.auth("unit"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf" and answer.content.startswith(b"%PDF")
    assert answer.headers["cache-control"] == "no-store"
