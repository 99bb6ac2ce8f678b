"""The bulk form of the case list over plain HTTP, posted as a browser or a script would: a list
over the limit, no CSRF token, the wrong method, numbers pasted in odd forms."""

from __future__ import annotations

from tests.appworld import AppWorld
from tests.factories import transferred
from tests.web.test_pages_http import csrf_of, signed_in


def test_a_bulk_request_over_the_limit_is_refused_whole_with_a_chinese_message(
        aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx)
    most = aw.ctx.policy.bulk.max_cases
    before = aw.snapshot()
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get("/cases").text)
        for count in (most + 1, most + 30, 5 * most):
            numbers = [number] + [f"GS-2023-{i:05d}" for i in range(90000, 90000 + count - 1)]
            answer = browser.post("/cases/bulk",
                                  data={"csrf": token, "bulk_action": "remind", "numbers": numbers})
            main = answer.text.split("<main", 1)[-1][:600]
            assert answer.status_code == 422, (count, answer.status_code, main)
            assert f"一次最多处理{most}件，请分批提交" in answer.text, count
    assert aw.snapshot() == before


def test_a_bulk_request_without_the_token_or_by_get_changes_nothing(aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx)
    before = aw.snapshot()
    with signed_in(site, "dispatcher") as browser:
        answer = browser.post("/cases/bulk", data={"bulk_action": "remind", "numbers": [number]})
        assert answer.status_code == 403 and "表单已过期" in answer.text
        by_get = browser.get("/cases/bulk", params={"bulk_action": "remind", "numbers": number})
        assert by_get.status_code in (404, 405)
    assert aw.snapshot() == before


def test_the_outcome_page_reads_a_pasted_number_and_says_back_markup_as_text(aw: AppWorld, site: str) -> None:
    number = transferred(aw.ctx)
    hostile = '"><script>alert(1)</script>'
    with signed_in(site, "dispatcher") as browser:
        token = csrf_of(browser.get("/cases").text)
        wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in number.lower())
        answer = browser.post("/cases/bulk", data={"csrf": token, "bulk_action": "remind",
                                                   "numbers": [f"\u3000{wide} ", hostile]})
        assert answer.status_code == 200, answer.text
        assert f'data-number="{number}"' in answer.text and "<script>alert(1)" not in answer.text
        assert "已完成 1 件" in answer.text and "未找到 1 件" in answer.text
