"""Clear refusals (issue 19, item 8): dates outside the calendar, integers in other scripts' digits,
JSON nested without end, made-up codes and keys. Each is a 4xx naming the field, never repeating
what was sent, never a 500; and every answer, a 500 included, carries the security headers."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from duban.app import SECURITY_HEADERS
from duban.services import CaseService
from tests.appworld import PASSWORD, AppWorld, LiveServer, app_for, live_client
from tests.factories import registered

# Written as a complainant's name and phone: whatever a refusal says, it must not say this.
IDENTITY = "张三13912345678"
GOOD = {"office_code": "GS", "title": "某小区供水管网老化经常停水", "complainant_name": "李四"}
# Not ASCII: superscript two, circled one, Arabic-Indic, full-width, Devanagari, Tibetan digits.
FOREIGN_DIGITS = ["²", "①", "١٢", "１２", "१२", "༢"]


def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def refused(answer: httpx.Response, status: int, field: str | None = None, *,
            secret: str = IDENTITY) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    body = answer.json()
    assert set(body) >= {"code", "message", "message_zh"}, body
    assert body["message"] and body["message_zh"], body
    if field is not None:
        assert body.get("field") == field, body
    for part in {secret, *re.findall(r"\d{5,}", secret)}:
        assert part not in answer.text, answer.text
    assert "input" not in body
    return body


def post_json(client: httpx.Client, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return client.post(path, content=json.dumps(body),
                       headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("received_at", [
    "2001-05-01T09:00:00+08:00", "2003-12-31T23:59:00+08:00", "2004-01-01T06:00:00+08:00",
    "1999-12-31T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-12:00",
    "2050-01-01T00:00:00+08:00",
])
def test_a_received_date_outside_the_calendar_is_422_on_received_at(
        aw: AppWorld, client: httpx.Client, received_at: str) -> None:
    before = aw.snapshot()
    answer = post_json(client, "/api/cases", {**GOOD, "received_at": received_at}, aw.auth("clerk"))
    body = refused(answer, 422, "received_at", secret=received_at)
    assert "2004" in body["message"] and "受理时间" in body["message_zh"]
    assert aw.snapshot() == before


def test_a_received_time_in_the_future_is_refused_by_the_services_one_rule(
        aw: AppWorld, client: httpx.Client) -> None:
    """The service's slack for machines' clocks is the only one: no face keeps a looser rule."""
    now = aw.ctx.now()
    before = aw.snapshot()
    late = (now + dt.timedelta(minutes=30)).isoformat()
    refused(post_json(client, "/api/cases", {**GOOD, "received_at": late}, aw.auth("clerk")), 422,
            "received_at", secret=late)
    assert aw.snapshot() == before
    near = (now + dt.timedelta(minutes=2)).isoformat()
    answer = post_json(client, "/api/cases", {**GOOD, "title": "钟差两分钟", "received_at": near},
                       aw.auth("clerk"))
    assert answer.status_code == 201, answer.text


def test_the_calendars_first_days_are_accepted(aw: AppWorld, client: httpx.Client) -> None:
    for when in ("2004-01-02T09:00:00+08:00", "2004-02-10T09:00:00+08:00"):
        answer = post_json(client, "/api/cases", {**GOOD, "title": f"旧案补录{when}", "received_at": when},
                           aw.auth("clerk"))
        assert answer.status_code == 201, answer.text


def test_the_service_refuses_a_date_before_the_calendar_for_every_door(aw: AppWorld) -> None:
    import datetime as dt

    from duban.errors import InvalidActionInput
    from duban.models import CaseCreate
    from tests.factories import CLERK

    data = CaseCreate(office_code="GS", title="补录", received_at=dt.datetime(2002, 5, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidActionInput) as info:
        CaseService(aw.ctx).register(data, actor=CLERK)
    assert info.value.field == "received_at" and "2002" not in str(info.value)


@pytest.mark.parametrize("digits", FOREIGN_DIGITS)
def test_integers_in_other_digits_are_422_naming_the_parameter(
        aw: AppWorld, client: httpx.Client, digits: str) -> None:
    number = registered(aw.ctx)
    headers = aw.auth("admin")
    refused(client.get("/api/cases", params={"offset": digits}, headers=headers), 422, "offset",
            secret=digits)
    refused(client.get("/api/cases", params={"limit": digits}, headers=headers), 422, "limit", secret=digits)
    refused(client.get(f"/api/cases/{number}/timeline", params={"offset": digits}, headers=headers),
            422, "offset", secret=digits)
    refused(client.get("/api/orgs", params={"limit": digits}, headers=headers), 422, "limit", secret=digits)
    act = f"/api/cases/{number}/actions/transfer"
    refused(post_json(client, act, {"form": {"unit": "GS-LZ-CG-GOV"}, "expected_version": digits}, headers),
            422, "expected_version", secret=digits)


@pytest.mark.parametrize("digits", FOREIGN_DIGITS)
def test_integers_in_other_digits_in_an_actions_form_are_422_naming_the_field(
        aw: AppWorld, client: httpx.Client, digits: str) -> None:
    from tests.factories import transferred

    number = transferred(aw.ctx)
    before = aw.snapshot()
    answer = post_json(client, f"/api/cases/{number}/actions/request_extension",
                       {"form": {"days": digits, "reason": "需要现场核查"}}, aw.auth("unit"))
    refused(answer, 422, "days", secret=digits)
    assert aw.snapshot() == before


@contextmanager
def signed_in(client: httpx.Client, username: str) -> Iterator[httpx.Client]:
    """A browser: a session cookie from the login page."""
    with live_client(base_url=str(client.base_url)) as browser:
        page = browser.get("/login")
        answer = browser.post("/login", data={"username": username, "password": PASSWORD,
                                              "csrf": csrf_of(page.text), "next": "/inbox"})
        assert answer.status_code == 303, answer.text[:300]
        yield browser


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.mark.parametrize("digits", FOREIGN_DIGITS)
def test_pages_refuse_integers_in_other_digits_naming_the_field(
        aw: AppWorld, client: httpx.Client, digits: str) -> None:
    number = registered(aw.ctx)
    before = aw.snapshot()
    with signed_in(client, "dispatcher") as browser:
        listing = browser.get("/cases", params={"offset": digits})
        assert listing.status_code == 422 and "起始位置" in listing.text, listing.text[:300]
        token = csrf_of(browser.get(f"/cases/{number}").text)
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": token, "version": digits, "unit": "GS-LZ-CG-GOV"})
        assert answer.status_code == 422 and "版本号" in answer.text, answer.text[:300]
        assert browser.get("/cases", params={"offset": "20"}).status_code == 200
    assert aw.snapshot() == before


def test_a_page_refuses_a_received_date_before_the_calendar(aw: AppWorld, client: httpx.Client) -> None:
    before = aw.snapshot()
    with signed_in(client, "clerk") as browser:
        token = csrf_of(browser.get("/cases/new").text)
        answer = browser.post("/cases/new", data={**GOOD, "csrf": token,
                                                  "received_at": "2002-03-04T09:00:00+08:00"})
        assert answer.status_code == 422 and "受理时间" in answer.text, answer.text[:300]
    assert aw.snapshot() == before


@pytest.mark.parametrize("depth", [40, 955, 5000, 200_000])
def test_json_nested_to_any_depth_is_refused_never_a_500(aw: AppWorld, client: httpx.Client,
                                                         depth: int) -> None:
    number = registered(aw.ctx)
    assert json.loads(_nested_json(40)) == nested(40)
    deep = _DEEP  # written into each body as nested(depth)'s JSON (json.dumps cannot write it)
    written = _nested_json(depth)
    before = aw.snapshot()
    for path, body, headers in [
        ("/api/auth/login", {"username": deep, "password": "x"}, {}),
        ("/api/auth/login", {"username": "clerk", "password": PASSWORD, "extra": deep}, {}),
        ("/api/cases", {**GOOD, "title": deep}, aw.auth("clerk")),
        ("/api/cases", {**GOOD, "summary": deep}, aw.auth("clerk")),
        ("/api/cases", deep, aw.auth("clerk")),
        (f"/api/cases/{number}/actions/transfer", {"form": {"unit": "GS-LZ-CG-GOV", "note": deep}},
         aw.auth("dispatcher")),
        (f"/api/cases/{number}/actions/transfer", {"form": deep}, aw.auth("dispatcher")),
        (f"/api/cases/{number}/actions/transfer", {"form": {}, "expected_version": deep},
         aw.auth("dispatcher")),
    ]:
        content = json.dumps(body).replace(json.dumps(_DEEP), written)
        answer = client.post(path, content=content, headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code in (413, 422), (path, answer.status_code, answer.text[:200])
        refused(answer, answer.status_code)
    assert aw.snapshot() == before


_DEEP = "\u0000deep"  # where a body holds the deep value


def _nested_json(depth: int) -> str:
    """`nested(depth)` as JSON, written as a string (no recursion, and fast at any depth)."""
    opens = ("[" if i % 2 else '{"a":' for i in reversed(range(depth)))
    closes = ("]" if i % 2 else "}" for i in range(depth))
    return "".join(opens) + '"x"' + "".join(closes)


def test_refusals_never_repeat_a_made_up_code_value_or_key(aw: AppWorld, client: httpx.Client) -> None:
    clerk, admin = aw.auth("clerk"), aw.auth("admin")
    number = registered(aw.ctx)
    before = aw.snapshot()
    for field in ("office_code", "subject_org_code", "channel", "category", "priority", "subject_kind"):
        refused(post_json(client, "/api/cases", {**GOOD, field: IDENTITY}, clerk), 422, field)
    refused(post_json(client, "/api/cases", {**GOOD, "repeat_of": IDENTITY}, clerk), 404)
    refused(post_json(client, "/api/cases", {**GOOD, IDENTITY: "1"}, clerk), 422, "body")
    refused(post_json(client, "/api/auth/login", {"username": "clerk", "password": "x", IDENTITY: 1}, {}),
            422)
    refused(client.get(f"/api/cases/{IDENTITY}", headers=admin), 404)
    refused(client.get(f"/api/cases/{IDENTITY}/timeline", headers=admin), 404)
    refused(client.get(f"/api/orgs/{IDENTITY}", headers=admin), 404)
    refused(client.get("/api/cases", params={"unit": IDENTITY}, headers=admin), 422, "unit")
    refused(client.get("/api/cases", params={"state": IDENTITY}, headers=admin), 422, "state")
    refused(client.get("/api/notifications", params={"status": IDENTITY}, headers=admin), 422, "status")
    refused(client.get("/api/cases", params={IDENTITY: b"\x00".decode("unicode_escape")},
                       headers=admin), 422, "query")
    act = f"/api/cases/{number}/actions/transfer"
    refused(post_json(client, act, {"form": {"unit": IDENTITY}}, aw.auth("dispatcher")), 422, "unit")
    refused(post_json(client, act, {"form": {IDENTITY: "x"}}, aw.auth("dispatcher")), 422, "form")
    refused(post_json(client, act, {"form": {IDENTITY: b"\x00".decode("unicode_escape")}},
                      aw.auth("dispatcher")), 422)
    assert aw.snapshot() == before


def test_a_report_period_is_refused_without_repeating_it(aw: AppWorld, client: httpx.Client) -> None:
    with signed_in(client, "leader") as browser:
        for period in (IDENTITY, "2001-03", "1999", "2046-Q1", "2023-02-30"):
            answer = browser.get("/reports", params={"period": period})
            assert answer.status_code == 422, (period, answer.status_code, answer.text[:300])
            assert "13912345678" not in answer.text
        assert browser.get("/reports", params={"period": "2023-09"}).status_code == 200


def test_every_refusal_and_a_crash_carry_the_security_headers(aw: AppWorld,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    app = app_for(aw)

    @app.get("/api/crash")
    def crash() -> None:
        raise RuntimeError("a bug")

    @app.get("/crash-page")
    def crash_page() -> None:
        raise RuntimeError("a bug")

    with LiveServer(app) as url, live_client(base_url=url) as http:
        answers = [
            http.get("/api/crash", headers=aw.auth("admin")),
            http.get("/crash-page"),
            http.get("/api/auth/me"),
            http.get("/api/cases/GS-2023-99999", headers=aw.auth("admin")),
            http.put("/api/cases", headers=aw.auth("admin")),
            http.post("/api/cases", content=b"x" * (600 * 1024), headers=aw.auth("clerk")),
            http.get("/api/cases", params={"offset": "²"}, headers=aw.auth("admin")),
            http.get("/nowhere"),
        ]
        statuses = [a.status_code for a in answers]
        assert statuses == [500, 500, 401, 404, 405, 413, 422, 404], statuses
        for answer in answers:
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers.get(name) == value, (answer.request.url, name, answer.headers)
        crashed = answers[0].json()
        assert "unhandled error on GET /api/crash" in caplog.text  # logged, for whoever runs it
        assert crashed["code"] == "internal_error" and "a bug" not in answers[0].text
        assert "a bug" not in answers[1].text and "服务器" in answers[1].text


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/api/cases", "GET, POST"),
    ("DELETE", "/api/cases", "GET, POST"),
    ("PATCH", "/api/cases/GS-2023-00001", "GET"),
    ("GET", "/api/cases/GS-2023-00001/actions/close", "POST"),
    ("GET", "/api/auth/login", "POST"),
    ("POST", "/api/auth/me", "GET"),
    ("DELETE", "/api/meta/health", "GET"),
])
def test_a_405_names_every_method_the_path_takes(aw: AppWorld, client: httpx.Client, method: str, path: str,
                                                  allow: str) -> None:
    answer = client.request(method, path, headers=aw.auth("admin"))
    assert answer.status_code == 405 and answer.headers["allow"] == allow, (answer.headers, answer.text)
    assert answer.json()["code"] == "method_not_allowed"


def test_pages_refuse_made_up_codes_without_repeating_them(aw: AppWorld, client: httpx.Client) -> None:
    with signed_in(client, "dispatcher") as browser:
        for path, params in [(f"/cases/{IDENTITY}", {}), ("/cases", {"unit": IDENTITY})]:
            answer = browser.get(path, params=params)
            assert answer.status_code in (200, 404), (path, answer.status_code)
            assert "13912345678" not in answer.text and "张三" not in answer.text, path
        assert "承办单位：没有这个名称或代码的单位" in browser.get("/cases", params={"unit": IDENTITY}).text


# A search the list refuses, and what it says in Chinese: the field is the list's keyword (关键词),
# never a report's text (办理情况), with the bound or the rule broken.
SEARCH_REFUSALS = [("供" * 101, "关键词不能超过100个字"),
                   ("供暖 噪音 道路 物业 工资 小区", "关键词最多5个词")]


@pytest.mark.parametrize(("typed", "said"), SEARCH_REFUSALS)
def test_a_search_the_list_refuses_is_named_as_the_keyword_with_its_bound(
        aw: AppWorld, client: httpx.Client, typed: str, said: str) -> None:
    answer = client.get("/api/cases", params={"text": typed}, headers=aw.auth("dispatcher"))
    body = refused(answer, 422, "text")
    assert body["message_zh"].startswith(said), body
    with signed_in(client, "dispatcher") as browser:
        listing = browser.get("/cases", params={"text": typed})
        assert listing.status_code == 422 and said in listing.text and "办理情况" not in listing.text
        assert typed not in listing.text
