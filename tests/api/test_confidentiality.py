"""The complainant's identity never reaches a handling unit (or a leader, or a stranger) that has no
consent to see it: every route of the app, as every role and anonymously, with good and bad input.

Routes come from the app itself, so a route added later is walked too. The case under test names
the complainant in its title, its summary, a reviewer's reasons and a callback note, the way people
really write, so masking the complainant fields alone would not pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from duban.config.policy import load_policy
from duban.services import CaseService
from duban.services.forms import FORMS
from tests.appworld import (
    PASSWORD,
    SECRET_NAME,
    SECRET_PHONE,
    USERS,
    AppWorld,
    LiveServer,
    app_for,
    live_client,
)
from tests.factories import CLERK, DISPATCHER, REPORTED, SAMPLE_FORM, SUPERVISOR, complaint, unit_actor

SAMPLE = SAMPLE_FORM
# Who reads identity by policy; everyone else is searched for leaks (supervisors, admins too).
IDENTITY_ROLES = frozenset(load_policy().privacy.identity_roles)
IDENTITIES = ["unit", "other-unit", "leader", None, *[u for u, (role, _) in USERS.items() if role != "unit"
                                                      and u != "leader"]]


def app_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers."""
    found: list[tuple[str, str]] = []

    def walk(items: Any) -> None:
        for route in items:
            if hasattr(route, "effective_candidates"):  # FastAPI's included router
                walk(route.effective_candidates())
            elif getattr(route, "methods", None):
                found.extend((m, route.path) for m in sorted(route.methods) if m != "HEAD")
            elif getattr(route, "path", "") == "/static":
                found.append(("GET", "/static/duban.css"))

    walk(app.routes)
    return found


def seeded(aw: AppWorld) -> dict[str, str]:
    """Case `secret` (no consent, assigned to unit), `theirs` (another unit's), `consented`."""
    service = CaseService(aw.ctx)
    secret = service.register(complaint(
        title=f"{SECRET_NAME}反映城关区住建局拖欠工程款", complainant_name=SECRET_NAME,
        complainant_phone=SECRET_PHONE, summary=f"{SECRET_NAME}（电话{SECRET_PHONE}）称尾款未付。"),
        actor=CLERK).case.number
    service.act(secret, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(secret, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "已付一半"})
    service.act(secret, "send_back", actor=SUPERVISOR,
                form={"reasons": f"经电话联系{SECRET_NAME}（{SECRET_PHONE}），问题并未解决。"})
    theirs = service.register(complaint(title="城关区某小区停水", complainant_name=SECRET_NAME,
                                        complainant_phone=SECRET_PHONE, subject_org_code="GS-LZ-CG-SWJ"),
                              actor=CLERK).case.number
    service.act(theirs, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-SWJ"})
    consented = service.register(complaint(title="同意公开的反映", complainant_name="公开者甲",
                                           complainant_consent=True, subject_org_code="GS-LZ-CG-SWJ"),
                                 actor=CLERK).case.number
    service.act(consented, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    return {"secret": secret, "theirs": theirs, "consented": consented}


def sample_form(action: str) -> dict[str, Any]:
    return {name: SAMPLE[name] for name in FORMS[action].model_fields}


def filled(path: str, cases: dict[str, str]) -> Iterator[str]:
    numbers = [cases["secret"], cases["theirs"], "GS-2023-99999"]
    if "{number}" in path and "{action}" in path:
        for number in numbers[:2]:
            for action in [*FORMS, "teleport"]:
                yield path.replace("{number}", number).replace("{action}", action)
    elif "{number}" in path:
        for number in numbers:
            yield path.replace("{number}", number)
    elif "{code}" in path:
        yield from (path.replace("{code}", code) for code in ("GS", "GS-NOPE"))
    else:
        yield path


class Visitor:
    """One identity calling every route: bearer token for /api, a signed-in browser session for pages."""

    def __init__(self, site: str, aw: AppWorld, username: str | None) -> None:
        self.aw = aw
        self.username = username
        self.api = live_client(base_url=site,
                                headers=aw.auth(username) if username else {})
        self.pages = live_client(base_url=site)
        self.csrf = self._csrf(self.pages.get("/login").text)
        if username:
            self.pages.post("/login", data={"username": username, "password": PASSWORD, "csrf": self.csrf})
            self._refresh()

    def _refresh(self) -> None:
        # Signing in starts a new session, and with it a new CSRF token.
        self.csrf = self._csrf(self.pages.get("/inbox").text) or self._csrf(self.pages.get("/login").text)

    @staticmethod
    def _csrf(html: str) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
        return found.group(1) if found else ""

    def call(self, method: str, path: str) -> httpx.Response:
        if path.startswith("/api"):
            body: Any = None
            if path == "/api/auth/login":
                body = {"username": self.username or "nobody", "password": PASSWORD}
            elif path == "/api/cases":
                body = {**complaint(complainant_name=SECRET_NAME, complainant_phone=SECRET_PHONE)
                        .model_dump(mode="json", exclude_none=True)}
            elif "/actions/" in path:
                action = path.rsplit("/", 1)[1]
                body = {"form": sample_form(action) if action in FORMS else {}}
            return self.api.request(method, path, json=body if method == "POST" else None)
        data: dict[str, Any] | None = None
        if method == "POST":
            data = {"csrf": self.csrf, "version": "1"}
            if path == "/login":
                data |= {"username": self.username or "nobody", "password": PASSWORD}
            elif path == "/cases/new":
                data |= {"office_code": "GS", "title": "又一次反映", "complainant_name": SECRET_NAME,
                         "complainant_phone": SECRET_PHONE}
            elif "/actions/" in path:
                action = path.rsplit("/", 1)[1]
                data |= {k: str(v) for k, v in (sample_form(action) if action in FORMS else {}).items()}
        answer = self.pages.request(method, path, data=data)
        if path == "/login" and method == "POST":
            self._refresh()
        return answer

    def close(self) -> None:
        self.api.close()
        self.pages.close()


def test_no_route_shows_the_complainant_to_anyone_without_consent_to_see_them(aw: AppWorld) -> None:
    cases = seeded(aw)
    app = app_for(aw)
    routes = app_routes(app)
    assert len(routes) >= 30, routes  # the walk really found the app's routes
    last = ("/logout", "/api/auth/logout")  # signing out would end the walk early
    routes.sort(key=lambda r: r[1] in last)
    calls = 0
    with LiveServer(app) as site:
        for username in IDENTITIES:
            role = USERS[username][0] if username else None
            visitor = Visitor(site, aw, username)
            try:
                if username == "unit":  # it does see the case, just not who complained
                    seen = visitor.call("GET", f"/api/cases/{cases['secret']}")
                    assert seen.status_code == 200 and seen.json()["complainant"]["visible"] is False
                    consented = visitor.call("GET", f"/api/cases/{cases['consented']}").json()
                    assert consented["complainant"]["name"] == "公开者甲"
                for method, path in routes:
                    for concrete in filled(path, cases):
                        answer = visitor.call(method, concrete)
                        calls += 1
                        assert answer.status_code < 500, (username, method, concrete, answer.text[:300])
                        if role in IDENTITY_ROLES:
                            continue
                        shown = answer.text + " ".join(f"{k}:{v}" for k, v in answer.headers.items())
                        assert SECRET_NAME not in shown, (username, method, concrete)
                        assert SECRET_PHONE not in shown, (username, method, concrete)
            finally:
                visitor.close()
    assert calls > 1000


def test_the_receiving_offices_dispatcher_does_see_the_complainant(aw: AppWorld) -> None:
    cases = seeded(aw)
    with LiveServer(app_for(aw)) as site, live_client(base_url=site, headers=aw.auth("dispatcher")) as api:
        detail = api.get(f"/api/cases/{cases['secret']}").json()
    assert detail["complainant"] == {"name": SECRET_NAME, "phone": SECRET_PHONE, "email": "",
                                     "real_name": True, "visible": True}
    assert SECRET_NAME in detail["case"]["title"]


@pytest.mark.parametrize("username", ["unit", "leader"])
def test_the_case_page_masks_the_complainant_everywhere_on_it(aw: AppWorld, username: str) -> None:
    cases = seeded(aw)
    with LiveServer(app_for(aw)) as site:
        visitor = Visitor(site, aw, username)
        try:
            page = visitor.call("GET", f"/cases/{cases['secret']}")
            listing = visitor.call("GET", "/cases")
        finally:
            visitor.close()
    assert page.status_code == 200 and "（保密）反映城关区住建局拖欠工程款" in page.text
    # The reviewer's reasons as redacted when written (adjacent findings may share one mask).
    assert "经电话联系（保密）" in page.text and "），问题并未解决。" in page.text
    assert "（保密）反映城关区住建局拖欠工程款" in listing.text


def test_the_warning_board_and_reports_mask_the_complainant_for_a_leader_and_refuse_units(
        aw: AppWorld) -> None:
    cases = seeded(aw)
    aw.advance(days=40)  # the secret case is long overdue: the board lists it by title
    with LiveServer(app_for(aw)) as site:
        leader, office, unit = (Visitor(site, aw, who) for who in ("leader", "dispatcher", "unit"))
        try:
            board = leader.call("GET", "/board")
            report = leader.call("GET", "/reports")
            office_board = office.call("GET", "/board")
            refused = [unit.call("GET", path).status_code for path in ("/board", "/reports")]
        finally:
            for visitor in (leader, office, unit):
                visitor.close()
    assert board.status_code == report.status_code == 200
    assert cases["secret"] in board.text and "（保密）反映城关区住建局拖欠工程款" in board.text
    for answer in (board, report):
        assert SECRET_NAME not in answer.text and SECRET_PHONE not in answer.text
    # The board and reports go to leaders: they name cases by the redacted title, for every reader.
    assert cases["secret"] in office_board.text and SECRET_NAME not in office_board.text
    assert refused == [403, 403]


def test_a_complainant_whose_name_holds_html_characters_is_masked_on_the_leaders_pages(
        aw: AppWorld) -> None:
    service = CaseService(aw.ctx)
    name = "欧阳&<秘>"
    number = service.register(complaint(title=f"{name}反映城关区住建局拖欠工程款", complainant_name=name,
                                        complainant_phone=SECRET_PHONE), actor=CLERK).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    aw.advance(days=40)
    with LiveServer(app_for(aw)) as site:
        leader = Visitor(site, aw, "leader")
        try:
            paths = ("/board", "/reports", "/cases", f"/cases/{number}")
            pages = [leader.call("GET", path) for path in paths]
        finally:
            leader.close()
    assert number in pages[0].text
    for page in pages:
        assert page.status_code == 200
        for form in (name, "欧阳&amp;&lt;秘&gt;", "欧阳&amp;", "&lt;秘&gt;"):
            assert form not in page.text


def test_a_search_is_no_oracle_for_those_who_may_not_see_the_complainant(aw: AppWorld) -> None:
    cases = seeded(aw)
    probes = ("欧阳%", "____反映", "欧阳", SECRET_PHONE, SECRET_NAME, "%秘密%", "_阳")
    with LiveServer(app_for(aw)) as site:
        def found(who: str, text: str) -> list[str]:
            with live_client(base_url=site, headers=aw.auth(who)) as api:
                answer = api.get("/api/cases", params={"text": text, "limit": 500})
            assert answer.status_code == 200
            return [r["number"] for r in answer.json()["items"]]

        assert found("unit", "拖欠工程款") == [cases["secret"]]
        for who in ("unit", "leader", "supervisor", "county", "admin"):
            for probe in probes:
                assert found(who, probe) == [], (who, probe)
        assert cases["secret"] in found("dispatcher", SECRET_PHONE)
        assert cases["secret"] in found("clerk", SECRET_NAME)
