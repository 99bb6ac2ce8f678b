"""Attachments over the API: multipart on the actions that take them, the list, the download's
headers; a refused file leaves nothing behind; the complainant's letter stays with whom may see them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from tests import filesamples as s
from tests.api.test_cases import COMPLAINT, act
from tests.appworld import AppWorld
from tests.factories import REPORTED


def register_with(client: httpx.Client, aw: AppWorld, files: list[tuple[str, bytes, str]],
                  **changes: Any) -> httpx.Response:
    return client.post("/api/cases/new/with-files", headers=aw.auth("clerk"),
                       data={"body": json.dumps({**COMPLAINT, **changes})},
                       files=[("files", f) for f in files])


def _transferred_with_letter(client: httpx.Client, aw: AppWorld, **changes: Any) -> str:
    answer = register_with(client, aw, [("张三的来信.pdf", s.PDF, "image/jpeg")], **changes)
    assert answer.status_code == 201, answer.text
    number = str(answer.json()["case"]["number"])
    assert act(client, aw, number, "transfer", "dispatcher", form={"unit": "GS-LZ-CG-GOV"}).status_code == 200
    return number


def test_a_letter_downloads_as_the_pdf_it_is_with_a_utf8_name_and_nosniff(
        aw: AppWorld, client: httpx.Client) -> None:
    number = _transferred_with_letter(client, aw)
    [row] = client.get(f"/api/cases/{number}/attachments", headers=aw.auth("clerk")).json()
    assert (row["media_type"], row["kind"], row["kind_label"]) == (
        "application/pdf", "registration", "来信材料")
    got = client.get(row["href"], headers=aw.auth("clerk"))
    assert got.status_code == 200 and got.content == s.PDF
    assert got.headers["content-type"] == "application/pdf"  # what the content is, not what was sent
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        f"attachment; filename=\"_____.pdf\"; filename*=UTF-8''{quote('张三的来信.pdf', safe='')}")
    assert "no-store" in got.headers["cache-control"] and "sandbox" in got.headers["content-security-policy"]


def test_the_unit_gets_404_for_the_letter_without_consent_and_the_file_with_it(
        aw: AppWorld, client: httpx.Client) -> None:
    number = _transferred_with_letter(client, aw)
    [row] = client.get(f"/api/cases/{number}/attachments", headers=aw.auth("clerk")).json()
    assert client.get(f"/api/cases/{number}/attachments", headers=aw.auth("unit")).json() == []
    refused = client.get(row["href"], headers=aw.auth("unit"))
    assert (refused.status_code, refused.json()["code"]) == (404, "item_not_found")
    assert "张三" not in refused.text and s.PDF not in refused.content
    stranger = client.get(row["href"], headers=aw.auth("other-unit"))
    assert (stranger.status_code, stranger.json()["code"]) == (404, "case_not_found")
    agreed = _transferred_with_letter(client, aw, complainant_consent=True, title="另一件事")
    [mine] = client.get(f"/api/cases/{agreed}/attachments", headers=aw.auth("unit")).json()
    assert client.get(mine["href"], headers=aw.auth("unit")).content == s.PDF


def test_an_executable_named_pdf_is_refused_in_chinese_and_nothing_is_registered(
        aw: AppWorld, client: httpx.Client) -> None:
    before = aw.snapshot()
    answer = register_with(client, aw, [("公函.pdf", s.EXE, "application/pdf")])
    body = answer.json()
    assert (answer.status_code, body["code"], body["field"]) == (422, "attachment_refused", "attachments")
    assert "只收PDF" in body["message_zh"] and "按文件内容识别" in body["message_zh"]
    assert aw.snapshot() == before


def test_a_unit_attaches_photos_to_its_report_and_the_office_sees_them_inline(
        aw: AppWorld, client: httpx.Client) -> None:
    number = _transferred_with_letter(client, aw)
    answer = client.post(f"/api/cases/{number}/actions/submit_report/with-files", headers=aw.auth("unit"),
                         data={"body": json.dumps({"form": {**REPORTED, "text": "已整改"}})},
                         files=[("files", ("现场照片.png", s.png(), "application/octet-stream")),
                                ("files", ("台账.xlsx", s.xlsx(), "text/plain"))])
    assert answer.status_code == 200, answer.text
    rows = client.get(f"/api/cases/{number}/attachments", headers=aw.auth("supervisor")).json()
    photo, sheet = [r for r in rows if r["kind"] == "report"]
    shown = client.get(photo["href"], headers=aw.auth("supervisor"))
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline; ")
    saved = client.get(sheet["href"], headers=aw.auth("supervisor"))
    assert saved.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert saved.headers["content-disposition"].startswith("attachment; ")


def test_a_multipart_body_that_is_not_the_actions_json_is_refused_naming_the_field(
        aw: AppWorld, client: httpx.Client) -> None:
    number = _transferred_with_letter(client, aw)
    answer = client.post(f"/api/cases/{number}/actions/submit_report/with-files", headers=aw.auth("unit"),
                         data={"body": "{not json"}, files=[("files", ("a.pdf", s.PDF, "application/pdf"))])
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_input"


def test_uploads_may_exceed_the_body_limit_by_what_the_policy_allows_and_no_more(
        aw: AppWorld, client: httpx.Client) -> None:
    aw.ctx.policy.attachments.max_bytes = 800 * 1024
    scan = s.PDF + b"0" * (700 * 1024)  # over the 512 KB any other body may hold
    answer = register_with(client, aw, [("扫描件.pdf", scan, "application/pdf")])
    assert answer.status_code == 201, answer.text
    big = register_with(client, aw, [("大.pdf", scan + b"0" * (200 * 1024), "application/pdf")],
                        title="另一件事")
    body = big.json()
    assert (big.status_code, body["code"]) == (422, "attachment_refused")
    assert "每个文件不能超过0.8MB" in body["message_zh"]
    far = register_with(client, aw, [(f"{i}.pdf", scan, "application/pdf") for i in range(13)], title="三")
    assert far.status_code == 413  # more than ten files at the limit: refused before it is read
    multipart = {**aw.auth("clerk"), "Content-Type": "multipart/form-data; boundary=x"}
    elsewhere = client.post("/api/cases", headers=multipart, content=b"0" * (600 * 1024))
    assert elsewhere.status_code == 413  # not an upload route: the usual limit


def test_a_broken_multipart_body_is_bad_input_not_a_bare_400(aw: AppWorld, client: httpx.Client) -> None:
    answer = client.post("/api/cases/new/with-files",
                         headers={**aw.auth("clerk"), "Content-Type": "multipart/form-data; boundary=x"},
                         content=b"--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\x00\r\n\r\n--")
    body = answer.json()
    assert (answer.status_code, body["code"], body["field"]) == (422, "invalid_input", "body")
    assert "multipart/form-data" in body["message_zh"]


def test_a_pdf_that_runs_a_script_when_opened_is_refused_like_a_macro(
        aw: AppWorld, client: httpx.Client) -> None:
    before = aw.snapshot()
    hostile = s.pdf_in_object_stream(b"<< /S /JavaScript /JS (this.exportDataObject({cName: 'a'})) >>")
    answer = register_with(client, aw, [("张三的来信.pdf", hostile, "application/pdf")])
    body = answer.json()
    assert (answer.status_code, body["code"], body["field"]) == (422, "attachment_refused", "attachments")
    assert "含脚本或内嵌文件的PDF" in body["message_zh"]
    assert aw.snapshot() == before


def test_hostile_names_download_under_one_clean_header(aw: AppWorld, client: httpx.Client) -> None:
    """CR/LF (a second header), quotes and semicolons (a second parameter), a bidi override (a name
    that reads as .pdf but ends in .exe), folders and percent signs: the header stays one
    `attachment` with the cleaned name, in UTF-8 for the browser, ASCII for the rest. (A client
    sends `"` and CR/LF in a name as %22, %0D, %0A, as the HTML standard has browsers do.)"""
    from urllib.parse import unquote

    sent = ['a"; filename="evil.html.pdf', "信\r\nSet-Cookie: x=1.pdf", "发票\u202efdp.exe",
            "..\\..\\windows\\%0d%0a.pdf", "\u3000张三 来信.PDF\u3000"]
    answer = register_with(client, aw, [(name, s.PDF, "application/pdf") for name in sent])
    assert answer.status_code == 201, answer.text
    rows = client.get(f"/api/cases/{answer.json()['case']['number']}/attachments",
                      headers=aw.auth("clerk")).json()
    saved = ["a%22; filename=%22evil.html.pdf", "信%0D%0ASet-Cookie: x=1.pdf", "发票fdp.exe.pdf",
             "%0d%0a.pdf", "张三 来信.PDF"]
    for row, name in zip(rows, saved, strict=True):
        header = client.get(row["href"], headers=aw.auth("clerk")).headers["content-disposition"]
        plain, utf8 = header.split("; filename*=UTF-8''")
        assert plain.startswith('attachment; filename="') and plain.count('"') == 2
        assert ";" not in plain.removeprefix("attachment;") and unquote(utf8) == name


def _raw_upload(client: httpx.Client, aw: AppWorld, filename: bytes) -> httpx.Response:
    """A registration whose file's name is sent as `filename` bytes, as a client writes them."""
    body = (b'--xyz\r\nContent-Disposition: form-data; name="body"\r\n\r\n' + json.dumps(COMPLAINT).encode()
            + b'\r\n--xyz\r\nContent-Disposition: form-data; name="files"; filename="' + filename
            + b'"\r\nContent-Type: application/pdf\r\n\r\n' + s.PDF + b"\r\n--xyz--\r\n")
    return client.post("/api/cases/new/with-files", content=body,
                       headers={**aw.auth("clerk"), "Content-Type": "multipart/form-data; boundary=xyz"})


def test_a_name_sent_in_gbk_by_an_older_chinese_client_downloads_as_written(
        aw: AppWorld, client: httpx.Client) -> None:
    """Browsers send names in UTF-8; an older Windows program sends GBK (GB18030). Either is the
    name the person gave, never mojibake (信访.pdf read as Latin-1 is 'ÐÅ·Ã.pdf')."""
    seen: dict[int, str] = {}
    for sent in ("张三的来信.pdf".encode("gbk"), "张三的来信.pdf".encode(), "Müller.pdf".encode()):
        answer = _raw_upload(client, aw, sent)
        assert answer.status_code == 201, answer.text
        number = answer.json()["case"]["number"]  # the same complaint again: linked to the first case
        rows = client.get(f"/api/cases/{number}/attachments", headers=aw.auth("clerk")).json()
        seen.update({row["id"]: row["name"] for row in rows if row["id"] not in seen})
    assert list(seen.values()) == ["张三的来信.pdf", "张三的来信.pdf", "Müller.pdf"]


def test_after_reassignment_the_old_unit_finds_neither_the_case_nor_its_own_photo(
        aw: AppWorld, client: httpx.Client) -> None:
    """Out of scope is not found, whatever the file and whoever attached it; ids guessed from
    another case are not found either."""
    number = _transferred_with_letter(client, aw, complainant_consent=True)
    sent = client.post(f"/api/cases/{number}/actions/submit_report/with-files", headers=aw.auth("unit"),
                       data={"body": json.dumps({"form": {**REPORTED, "text": "已整改"}})},
                       files=[("files", ("现场.png", s.png(), "image/png"))])
    assert sent.status_code == 200, sent.text
    rows = client.get(f"/api/cases/{number}/attachments", headers=aw.auth("unit")).json()
    assert len(rows) == 2  # the letter (the complainant agreed) and its own photo
    for action, who, form in (("send_back", "supervisor", {"reasons": "整改不到位"}),
                              ("reassign", "dispatcher", {"unit": "GS-LZ-CG-SWJ", "reason": "属水务局职责"})):
        assert act(client, aw, number, action, who, form=form).status_code == 200
    for row in rows:
        gone = client.get(row["href"], headers=aw.auth("unit"))
        assert (gone.status_code, gone.json()["code"]) == (404, "case_not_found")
        assert client.get(row["href"], headers=aw.auth("other-unit")).status_code == 200  # the new unit's
    other = _transferred_with_letter(client, aw, title="另一件事")
    for row in rows:
        guessed = client.get(f"/api/cases/{other}/attachments/{row['id']}", headers=aw.auth("clerk"))
        assert (guessed.status_code, guessed.json()["code"]) == (404, "item_not_found")
