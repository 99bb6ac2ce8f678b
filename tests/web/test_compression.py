"""Pages go out gzipped to browsers that accept it, and their form token differs on every page
(so compressed sizes cannot reveal it); the JSON API goes out as it is."""

from __future__ import annotations

import gzip
import re

from tests.appworld import AppWorld, fast_password_hashing, live_client  # noqa: F401
from tests.factories import registered
from tests.web.test_pages_http import csrf_of, signed_in


def test_a_case_page_is_gzipped_for_a_browser_that_accepts_it_with_its_security_headers(
        aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        plain = browser.get(f"/cases/{number}", headers={"Accept-Encoding": "identity"})
        with browser.stream("GET", f"/cases/{number}", headers={"Accept-Encoding": "gzip"}) as packed:
            raw = b"".join(packed.iter_raw())
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and "Accept-Encoding" in packed.headers["vary"]
    assert len(raw) < len(plain.content) / 3
    assert packed.headers["content-security-policy"] == plain.headers["content-security-policy"]
    text = gzip.decompress(raw).decode()
    assert re.sub(r'value="[0-9a-f]{128}"', "", text) == re.sub(r'value="[0-9a-f]{128}"', "", plain.text)


def test_the_json_api_is_not_gzipped(aw: AppWorld, site: str) -> None:
    for n in range(4):
        registered(aw.ctx, title=f"第{n}件：某小区供水管网老化漏水", complainant_name=f"反映人{n}",
                   subject_name=f"某区第{n}水务所")
    with live_client(base_url=site) as client:
        answer = client.get("/api/cases", headers={"Authorization": f"Bearer {aw.tokens['dispatcher']}",
                                                   "Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and len(answer.content) > 1024
    assert "content-encoding" not in answer.headers


def test_the_forms_token_differs_on_every_page_and_each_is_accepted(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as browser:
        first = csrf_of(browser.get(f"/cases/{number}").text)
        second = csrf_of(browser.get(f"/cases/{number}").text)
        assert first != second
        answer = browser.post(f"/cases/{number}/actions/transfer",
                              data={"csrf": first, "version": "1", "unit": "GS-LZ-CG-GOV"})
        assert answer.status_code == 303


def test_a_token_of_another_session_or_altered_is_refused(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx)
    with signed_in(site, "dispatcher") as other:
        theirs = csrf_of(other.get(f"/cases/{number}").text)
    before = aw.snapshot()
    with signed_in(site, "dispatcher") as browser:
        mine = csrf_of(browser.get(f"/cases/{number}").text)
        flipped = mine[:-1] + ("0" if mine[-1] != "0" else "1")
        for token in (theirs, flipped, mine[:64], mine + "00", "z" * 128):
            answer = browser.post(f"/cases/{number}/actions/transfer",
                                  data={"csrf": token, "version": "1", "unit": "GS-LZ-CG-GOV"})
            assert answer.status_code == 403, token
    assert aw.snapshot() == before
