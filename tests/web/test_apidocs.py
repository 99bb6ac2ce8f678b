"""/docs and /redoc work on an intranet: every script and style from this server, none refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from duban.api.apidocs import csp_for


@pytest.mark.parametrize(("path", "shows"), [("/docs", ".opblock-summary-path"), ("/redoc", "h2")])
def test_the_api_docs_render_in_chromium_with_nothing_from_outside(
        browser: Any, site: str, path: str, shows: str) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    outside: list[str] = []
    refused: list[str] = []
    # Answers, not attempts: ReDoc asks for its own logo from cdn.redoc.ly, which img-src refuses.
    page.on("response", lambda r: outside.append(r.url) if not r.url.startswith(site) else None)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text
            and "the image" not in m.text else None)
    try:
        page.goto(site + path)
        page.wait_for_selector(shows, timeout=30_000)
        text = page.inner_text("body")
    finally:
        context.close()
    assert "/api/cases" in text  # the operations are listed: the document was read and drawn
    assert [url for url in outside if not url.startswith(("data:", "blob:"))] == []
    assert refused == []


def test_the_docs_pages_allow_their_own_inline_script_by_hash_and_nothing_inline_else(site: str) -> None:
    page = httpx.get(site + "/docs")
    policy = page.headers["content-security-policy"]
    assert policy == csp_for(page.text)
    assert "'sha256-" in policy and "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert httpx.get(site + "/static/apidocs/swagger-ui-bundle.js").status_code == 200
