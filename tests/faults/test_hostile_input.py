"""Named hostile inputs, each refused with a clear 4xx that names the field, and nothing changed:
oversized bodies, broken unicode, injection strings, wrong types, missing fields, dates out of
range, and actions on a closed case."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from duban.services import CaseService
from duban.services.forms import FORMS
from duban.services.search import MAX_WORDS
from tests.appworld import PASSWORD, AppWorld
from tests.factories import REPORTED, SAMPLE_FORM, SUPERVISOR, transferred, unit_actor
from tests.faults import figures

GOOD = {"office_code": "GS", "title": "某小区供水管网老化经常停水", "complainant_name": "张三"}


@pytest.fixture
def closed(aw: AppWorld) -> str:
    number = transferred(aw.ctx, subject_org_code=None)
    unit = unit_actor(aw.ctx, "GS-LZ-CG-GOV")
    CaseService(aw.ctx).act(number, "submit_report", actor=unit, form={**REPORTED, "text": "好"})
    CaseService(aw.ctx).act(number, "approve", actor=SUPERVISOR)
    CaseService(aw.ctx).act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    return number


@pytest.fixture
def unchanged(aw: AppWorld) -> Iterator[None]:
    """Whatever the test sends, the database is the same afterwards."""
    before = aw.snapshot()
    yield
    assert aw.snapshot() == before


def refused(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    body = answer.json()
    assert body["code"] and body["message"] and body["message_zh"], body
    if field is not None:
        assert body.get("field") == field, body
        assert field.split(".")[-1] in body["message"], body  # the message itself names it
    figures.add("hostile inputs refused")
    return body


def test_oversized_bodies_get_413_before_anything_reads_them(aw: AppWorld, client: httpx.Client,
                                                             unchanged: None) -> None:
    big = b'{"office_code": "GS", "title": "' + b"x" * (600 * 1024) + b'"}'
    headers = {**aw.auth("clerk"), "Content-Type": "application/json"}
    assert refused(client.post("/api/cases", content=big, headers=headers), 413)["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(80):
            yield b"y" * 8192

    refused(client.post("/api/cases", content=chunks(), headers=headers), 413)
    assert client.post("/login", content=b"a=" + b"z" * (700 * 1024),
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 413


@pytest.mark.parametrize(("title", "why"), [
    ("\x00", "a NUL byte"),
    ("停水\x00问题", "a NUL byte inside text"),
    ("\ud800停水", "a lone surrogate"),
    ("停水\udfff", "a lone low surrogate"),
])
def test_broken_unicode_in_json_is_refused_naming_the_field(aw: AppWorld, client: httpx.Client,
                                                            unchanged: None, title: str, why: str) -> None:
    body = json.dumps({**GOOD, "title": title})  # ensure_ascii: \u escapes, as a client would send them
    answer = client.post("/api/cases", content=body, headers={**aw.auth("clerk"),
                                                              "Content-Type": "application/json"})
    assert "title" in refused(answer, 422, "title")["message"], why


def test_invalid_utf8_bytes_are_refused_not_guessed(aw: AppWorld, client: httpx.Client,
                                                    unchanged: None) -> None:
    raw = b'{"office_code": "GS", "title": "\xff\xfe\xed\xa0\x80"}'
    answer = client.post("/api/cases", content=raw, headers={**aw.auth("clerk"),
                                                             "Content-Type": "application/json"})
    refused(answer, 422, "body")
    login = client.post("/api/auth/login", content=b'{"username": "\xc3\x28", "password": "x"}',
                        headers={"Content-Type": "application/json"})
    refused(login, 422, "body")


def test_nul_and_broken_text_elsewhere_are_refused(aw: AppWorld, client: httpx.Client, closed: str,
                                                  unchanged: None) -> None:
    clerk = aw.auth("clerk")
    login = client.post("/api/auth/login", json={"username": "admin\x00", "password": PASSWORD})
    refused(login, 422, "username")
    refused(client.get("/api/cases", params={"text": "停水\x00"}, headers=clerk), 422, "text")
    refused(client.get("/api/orgs", params={"q": "\x00"}, headers=clerk), 422, "q")
    refused(client.get("/api/cases/GS-2023-%00001", headers=clerk), 422, "path")
    refused(client.get("/api/cases", params={"te\x00xt": "1"}, headers=clerk), 422, "text")
    action = client.post(f"/api/cases/{closed}/actions/reopen", headers=aw.auth("supervisor"),
                         json={"form": {"reason": "问题\x00复发"}})
    refused(action, 422, "reason")  # a form's fields are named as the service names them
    nested = client.post(f"/api/cases/{closed}/actions/reopen",
                         content=json.dumps({"form": {"reason": ["\ud800"]}}),
                         headers={**aw.auth("supervisor"), "Content-Type": "application/json"})
    refused(nested, 422, "reason")
    page = client.get("/cases", params={"text": "\x00"})
    assert page.status_code == 422 and "含有无效字符" in page.text


def test_the_login_page_refuses_broken_text_too(client: httpx.Client, unchanged: None) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf is not None
    form = {"username": "admin\x00", "password": PASSWORD, "csrf": csrf.group(1)}
    answer = client.post("/login", data=form)
    assert answer.status_code == 422 and "用户名" in answer.text


INJECTIONS = ["' OR '1'='1", "'; DROP TABLE cases; --", "\" OR 1=1 --", "%' OR 1=1 --",
              "1; SELECT pg_sleep(5)", "GS-2023-00001' UNION SELECT * FROM users --"]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_strings_are_only_text(aw: AppWorld, client: httpx.Client, attack: str) -> None:
    transferred(aw.ctx, subject_org_code=None)
    clerk = aw.auth("dispatcher")
    before = aw.snapshot()
    listing = client.get("/api/cases", params={"text": attack}, headers=clerk)
    if len(attack.split()) > MAX_WORDS:  # more words apart than a query holds: refused, saying so
        refused(listing, 422, "text")
    else:
        assert listing.status_code == 200 and listing.json()["items"] == []
    assert client.get("/api/orgs", params={"q": attack}, headers=clerk).json() == []
    path = client.get(f"/api/cases/{attack}", headers=clerk)
    refused(path, 404) if len(attack) <= 40 else refused(path, 422, "number")
    refused(client.get("/api/cases", params={"unit": attack}, headers=clerk), 422, "unit")
    assert aw.snapshot() == before
    registered = client.post("/api/cases", json={**GOOD, "title": attack, "summary": attack}, headers=clerk)
    assert registered.status_code == 201, registered.text
    number = registered.json()["case"]["number"]
    assert client.get(f"/api/cases/{number}", headers=clerk).json()["case"]["title"] == attack.strip()
    assert aw.snapshot()[0] == before[0] + 1  # exactly one new case, the tables all there


@pytest.mark.parametrize(("body", "field"), [
    ({**GOOD, "title": 12345}, "title"),
    ({**GOOD, "title": ["a", "b"]}, "title"),
    ({**GOOD, "complainant_real_name": "maybe"}, "complainant_real_name"),
    ({**GOOD, "priority": "urgent!!"}, "priority"),
    ({**GOOD, "office_code": None}, "office_code"),
    ({**GOOD, "hacker": True}, "body"),  # a made-up key is not repeated back
    ({**GOOD, "complainant_phone": "<script>"}, "complainant_phone"),
    ({k: v for k, v in GOOD.items() if k != "title"}, "title"),
    ({k: v for k, v in GOOD.items() if k != "office_code"}, "office_code"),
    ({**GOOD, "title": "   "}, "title"),
])
def test_wrong_types_and_missing_fields_are_named(aw: AppWorld, client: httpx.Client, unchanged: None,
                                                 body: dict[str, Any], field: str) -> None:
    refused(client.post("/api/cases", json=body, headers=aw.auth("clerk")), 422, field)


def test_wrong_types_in_actions_and_filters_are_named(aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(aw.ctx, title="另一件", subject_org_code=None)
    before = aw.snapshot()
    boss = aw.auth("supervisor")
    act = f"/api/cases/{number}/actions"
    refused(client.post(f"{act}/remind", json={"form": {}, "expected_version": "abc"}, headers=boss), 422,
            "expected_version")
    refused(client.post(f"{act}/remind", json={"form": ["x"]}, headers=boss), 422, "form")
    # A form's fields are named by themselves (the form is the action's), as pages show them.
    refused(client.post(f"{act}/remind", json={"form": {"note": 7}}, headers=boss), 422, "note")
    refused(client.post(f"{act}/reassign", json={"form": {"unit": "GS-LZ-CG-SWJ"}}, headers=boss), 422,
            "reason")
    refused(client.post(f"{act}/request_extension", json={"form": {"days": "many", "reason": "x"}},
                        headers=aw.auth("unit")), 422, "days")
    refused(client.post(f"{act}/remind", json={"form": {"colour": "red"}}, headers=boss), 422, "form")
    as_json = {**boss, "Content-Type": "application/json"}
    refused(client.post(f"{act}/remind", content=b"not json", headers=as_json), 422, "body")
    refused(client.get("/api/cases", params={"limit": -1}, headers=boss), 422, "limit")
    refused(client.get("/api/cases", params={"overdue": "perhaps"}, headers=boss), 422, "overdue")
    refused(client.get("/api/cases", params={"state": "teleported"}, headers=boss), 422, "state")
    assert aw.snapshot() == before


@pytest.mark.parametrize("when", [
    "0001-01-01T00:00:00+08:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
    "1899-12-31T08:00:00+08:00",
    "2023-03-01T09:00:00",  # no time zone: which 9 o'clock?
    "2023-02-30T09:00:00+08:00",
    "2030-01-01T09:00:00+08:00",  # after today (the world's clock is in 2023)
])
def test_dates_out_of_range_are_refused_naming_the_field(aw: AppWorld, client: httpx.Client, unchanged: None,
                                                        when: str) -> None:
    answer = client.post("/api/cases", json={**GOOD, "received_at": when}, headers=aw.auth("clerk"))
    refused(answer, 422, "received_at")


def test_no_action_touches_a_closed_case(aw: AppWorld, client: httpx.Client, closed: str) -> None:
    samples = SAMPLE_FORM
    before = aw.snapshot()
    roles = aw.ctx.policy.roles
    for action, form in FORMS.items():
        if action in ("reopen", "request_reexamination"):
            continue  # the ways out of closed: 回头看 for the office, 复查 asked for after the reply
        body = {"form": {name: samples[name] for name in form.model_fields}}
        who = "admin" if "admin" in roles[action] else "unit"  # someone whose role may do it
        answer = client.post(f"/api/cases/{closed}/actions/{action}", json=body, headers=aw.auth(who))
        problem = refused(answer, 409)
        allowed = ["reopen", "request_reexamination"] if who == "admin" else []
        if action == "request_recheck":  # 复核 before any 复查: refused by name
            assert problem["code"] == "review_not_allowed" and problem["allowed_actions"] == allowed
            continue
        assert problem["code"] == "action_not_allowed" and problem["allowed_actions"] == allowed, action
        assert "已办结" in problem["message_zh"] and "closed" in problem["message"]
    assert aw.snapshot() == before
