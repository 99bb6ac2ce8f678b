"""The public pages (网上反映) over plain HTTP: the link from sign-in, CSRF, the challenge, the
limits per client address (shared by every worker: kept in the database), body and text limits,
and a wrong pair answering as an unknown number. Each visitor waits up to 30 s for an answer (a
loaded CI machine once took over httpx's default 5 s to answer a first request: a hang, not a
figure, is what a timeout here is for)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from duban.config.public import load_public
from duban.models import Case
from tests.appworld import AppWorld, LiveServer, app_for, fast_password_hashing, live_client, make_world  # noqa: F401
from tests.factories import REPORTED, advance

CONFIG = load_public()
_TITLES = itertools.count(1)  # each complaint its own matter, so none is linked as a repeat
DIGITS = {d: i for i, d in enumerate(CONFIG.text["digits"])}
ERROR = re.compile(r'<p class="problem" role="alert">([^<]*)</p>')


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} on the page"
    return found.group(1)


def answer_of(html: str) -> str:
    """The challenge's answer, worked out from its question (一加七等于几？)."""
    found = re.search(r"：(.+?)(加|减)(.+?)等于几？", html)
    assert found, "no challenge question on the page"
    a, op, b = DIGITS[found.group(1)], found.group(2), DIGITS[found.group(3)]
    return str(a + b if op == "加" else a - b)


def complaint(**overrides: str) -> dict[str, str]:
    values = {"office_code": "GS-LZ-CG", "category": "water",
              "title": f"小区停水三天（第{next(_TITLES)}号楼）",
              "summary": "小区停水三天，无人处理。", "subject_name": "城关区水务局", "identity": "anonymous"}
    values.update(overrides)
    return values


def file(browser: httpx.Client, *, answer: str | None = None, **overrides: str) -> httpx.Response:
    page = browser.get("/public").text
    data = {**complaint(**overrides), "csrf": field(page, "csrf"), "token": field(page, "token"),
            "answer": answer_of(page) if answer is None else answer}
    return browser.post("/public/file", data=data)


def filed(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 201, ERROR.findall(answer.text) or answer.text[:300]
    number = re.search(r'data-field="number">([^<]+)<', answer.text)
    code = re.search(r'data-field="code">([^<]+)<', answer.text)
    assert number and code
    return number.group(1), code.group(1)


def follow(browser: httpx.Client, number: str, code: str) -> httpx.Response:
    page = browser.get("/public/follow").text
    return browser.post("/public/follow", data={"number": number, "code": code, "csrf": field(page, "csrf")})


def cases(aw: AppWorld) -> int:
    from sqlmodel import Session, func, select

    with Session(aw.ctx.engine) as session:
        return int(session.exec(select(func.count()).select_from(Case)).one())


@pytest.fixture
def public_site(aw: AppWorld, request: pytest.FixtureRequest) -> Iterator[str]:
    """The site, with the public config changed as a test's `limits` marker says."""
    app = app_for(aw)
    marker = request.node.get_closest_marker("limits")
    if marker is not None:
        limits = CONFIG.limits.model_copy(update=marker.kwargs)
        app.state.public = CONFIG.model_copy(update={"limits": limits})
    with served(app) as url:
        yield url


def served(app: Any) -> LiveServer:
    """The app under uvicorn as `duban serve` runs it: uvicorn itself never reads X-Forwarded-For."""
    live = LiveServer(app)
    live.server.config.proxy_headers = False
    return live


def test_the_sign_in_page_links_to_the_public_pages(public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        page = browser.get("/login").text
        assert 'href="/public"' in page and 'href="/public/follow"' in page
        public = browser.get("/public")
        assert public.status_code == 200 and "网上反映" in public.text
        assert "城关区办" in public.text and "省办" in public.text  # the offices to choose from


def test_a_complaint_filed_online_is_followed_with_its_number_and_code(public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        number, code = filed(file(browser))
        case = follow(browser, number, code)
        assert case.status_code == 200 and "已受理" in case.text and number in case.text
        assert "小区停水" not in case.text  # the case's texts are not shown back


def test_a_wrong_or_replayed_or_late_challenge_registers_nothing(aw: AppWorld, public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        page = browser.get("/public").text
        right = answer_of(page)
        data = {**complaint(), "csrf": field(page, "csrf"), "token": field(page, "token")}
        wrong = browser.post("/public/file", data={**data, "answer": str(int(right) + 1)})
        assert wrong.status_code == 422 and CONFIG.t("challenge_failed") in wrong.text
        assert cases(aw) == 0
        assert browser.post("/public/file", data={**data, "answer": right}).status_code == 201
        replayed = browser.post("/public/file", data={**data, "answer": right})
        assert replayed.status_code == 422 and cases(aw) == 1
        page = browser.get("/public").text
        late = {**complaint(), "csrf": field(page, "csrf"), "token": field(page, "token"),
                "answer": answer_of(page)}
        advance(aw.ctx, minutes=CONFIG.limits.challenge_minutes + 1)
        assert browser.post("/public/file", data=late).status_code == 422 and cases(aw) == 1


def test_a_public_form_without_its_token_is_refused(aw: AppWorld, public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        page = browser.get("/public").text
        answer = browser.post("/public/file", data={**complaint(), "csrf": "0" * 128,
                                                    "token": field(page, "token"), "answer": answer_of(page)})
        assert answer.status_code == 403 and cases(aw) == 0
    with live_client(base_url=public_site) as stranger:  # another visitor's token is not theirs
        assert stranger.post("/public/follow", data={"number": "x", "code": "y",
                                                     "csrf": field(page, "csrf")}).status_code == 403


def test_bodies_over_the_public_limit_and_texts_over_their_length_are_refused(
        aw: AppWorld, public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        # over the public limit, under the site's
        big = file(browser, summary="a" * CONFIG.limits.max_body_bytes)
        assert big.status_code == 413 and CONFIG.t("too_large") in big.text
        long = file(browser, title="长" * (CONFIG.lengths.title + 1))
        assert long.status_code == 422
        assert ERROR.findall(long.text) == [CONFIG.t("too_long").format(field=CONFIG.t("title"),
                                                                        limit=CONFIG.lengths.title)]
        real = file(browser, identity="real", name="", phone="")
        assert real.status_code == 422 and CONFIG.t("real_name_needs") in real.text
        assert cases(aw) == 0


def test_broken_text_in_a_public_form_is_refused_plainly(public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        token = field(browser.get("/public/follow").text, "csrf")
        for number in ("GS\x00-2023", "GS\ud800"):
            body = f"csrf={token}&code=x&number={number}".encode("utf-8", "surrogatepass")
            answer = browser.post("/public/follow", content=body,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 422 and ERROR.findall(answer.text) == [CONFIG.t("bad_input")]


@pytest.mark.limits(file_per_window=2)
def test_filing_is_limited_per_address_and_the_limit_is_shared_by_every_worker(
        aw: AppWorld, public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        filed(file(browser))
        filed(file(browser))
    # A second application on the same database: another worker process, its own memory.
    other = app_for(aw)
    other.state.public = CONFIG.model_copy(update={"limits": CONFIG.limits.model_copy(
        update={"file_per_window": 2})})
    with served(other) as url, live_client(base_url=url) as browser:
        refused = file(browser)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert cases(aw) == 2
    advance(aw.ctx, minutes=CONFIG.limits.file_window_minutes + 1)
    with live_client(base_url=public_site) as browser:
        filed(file(browser))


@pytest.mark.limits(file_per_window=1)
def test_a_forwarded_address_counts_only_from_a_trusted_proxy(aw: AppWorld, public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        filed(file(browser))
        spoofed = browser.get("/public")  # the header is ignored: the proxy is not trusted
        assert spoofed.status_code == 200
        page = spoofed.text
        data = {**complaint(), "csrf": field(page, "csrf"), "token": field(page, "token"),
                "answer": answer_of(page)}
        answer = browser.post("/public/file", data=data, headers={"X-Forwarded-For": "203.0.113.9"})
        assert answer.status_code == 429


@pytest.mark.limits(file_per_window=1, client_header="X-Forwarded-For", trusted_proxies=["127.0.0.1"])
def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_window(public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        for address in ("203.0.113.9", "203.0.113.10"):
            page = browser.get("/public").text
            data = {**complaint(), "csrf": field(page, "csrf"), "token": field(page, "token"),
                    "answer": answer_of(page)}
            assert browser.post("/public/file", data=data,
                                headers={"X-Forwarded-For": f"10.9.9.9, {address}"}).status_code == 201
        page = browser.get("/public").text
        data = {**complaint(), "csrf": field(page, "csrf"), "token": field(page, "token"),
                "answer": answer_of(page)}
        again = browser.post("/public/file", data=data, headers={"X-Forwarded-For": "203.0.113.9"})
        assert again.status_code == 429


@pytest.mark.limits(follow_failures=3)
def test_wrong_pairs_answer_as_unknown_numbers_and_are_limited(public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        number, code = filed(file(browser))
        wrong = follow(browser, number, "A" * 16)
        unknown = follow(browser, "GS-LZ-CG-2023-99999", code)
        assert wrong.status_code == unknown.status_code == 404
        assert ERROR.findall(wrong.text) == ERROR.findall(unknown.text) == [CONFIG.t("not_found")]
        assert follow(browser, number, "B" * 16).status_code == 404
        locked = follow(browser, number, code)  # even the right pair waits now
        assert locked.status_code == 429 and "Retry-After" in locked.headers


def test_the_rating_form_is_refused_without_a_reply_and_rates_once(aw: AppWorld, public_site: str) -> None:
    from duban.services import CaseService
    from tests.factories import DISPATCHER, SUPERVISOR, unit_actor

    with live_client(base_url=public_site) as browser:
        number, code = filed(file(browser))
        page = follow(browser, number, code).text
        assert 'action="/public/rate"' not in page
        token = field(browser.get("/public/follow").text, "csrf")
        early = browser.post("/public/rate", data={"number": number, "code": code, "rating": "satisfied",
                                                   "csrf": token})
        assert early.status_code == 409
        service = CaseService(aw.ctx)
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已恢复供水"})
        service.act(number, "approve", actor=SUPERVISOR, form={"note": ""})
        page = follow(browser, number, code).text
        assert "已恢复供水" in page and 'action="/public/rate"' in page
        for internal in ("城关区人民政府", SUPERVISOR.name, DISPATCHER.name, "承办人", "小区停水三天"):
            assert internal not in page  # no unit, staff, or the case's own texts
        data: dict[str, Any] = {"number": number, "code": code, "rating": "unsatisfied",
                                "comment": "水压不足", "csrf": field(page, "csrf")}
        done = browser.post("/public/rate", data=data)
        assert done.status_code == 200 and CONFIG.t("rated_done") in done.text and "不满意" in done.text
        assert browser.post("/public/rate", data=data).status_code == 409


def test_there_is_no_review_button_before_the_reply(public_site: str) -> None:
    with live_client(base_url=public_site) as browser:
        number, code = filed(file(browser))
        page = follow(browser, number, code).text
        assert 'action="/public/review"' not in page  # no reply yet: nothing to ask 复查 of


def test_a_citizen_asks_for_review_of_the_reply(aw: AppWorld, public_site: str) -> None:
    from duban.services import CaseService
    from tests.factories import DISPATCHER, REPORTED, SUPERVISOR, unit_actor

    with live_client(base_url=public_site) as browser:
        number, code = filed(file(browser))
        service = CaseService(aw.ctx)
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已恢复供水"})
        service.act(number, "approve", actor=SUPERVISOR, form={"note": ""})
        page = follow(browser, number, code).text
        assert 'action="/public/review"' in page
        before = service.get(number).state
        asked = browser.post("/public/review", data={"number": number, "code": code, "reason": "水压仍不足",
                                                     "csrf": field(page, "csrf")})
        assert asked.status_code == 200, ERROR.findall(asked.text)
        assert CONFIG.t("review_done") in asked.text and service.get(number).state != before
        wrong = browser.post("/public/review", data={"number": number, "code": "A" * 16, "reason": "x",
                                                     "csrf": field(page, "csrf")})
        assert wrong.status_code == 404


def test_the_review_offered_is_the_next_level_and_none_once_concluded(aw: AppWorld, public_site: str) -> None:
    from duban.services import Actor, CaseService
    from tests.factories import REPORTED, org_id, unit_actor

    def staff(role: str, code: str) -> Actor:
        return Actor(f"{code}{role}", role, org_id(aw.ctx, code))

    with live_client(base_url=public_site) as browser:
        number, code = filed(file(browser))
        service = CaseService(aw.ctx)
        service.act(number, "transfer", actor=staff("dispatcher", "GS-LZ-CG"), form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已恢复供水"})
        service.act(number, "approve", actor=staff("supervisor", "GS-LZ-CG"), form={"note": ""})
        levels = [("reexamination", "GS-LZ", "申请复查"), ("recheck", "GS", "申请复核")]
        for level, decider, offered in levels:
            page = follow(browser, number, code).text
            assert f">{offered}</button>" in page, level
            asked = browser.post("/public/review", data={"number": number, "code": code, "reason": "不满意",
                                                         "csrf": field(page, "csrf")})
            assert asked.status_code == 200 and service.get(number).state == level, ERROR.findall(asked.text)
            service.act(number, f"decide_{level}", actor=staff("supervisor", decider),
                        form={"opinion": "uphold", "reply": "予以维持"})
        assert 'action="/public/review"' not in follow(browser, number, code).text  # 终结: no third level
