"""Pages: a subject flagged for the dispatcher says so, and every org to avoid is marked."""

from __future__ import annotations

import re

from tests.appworld import AppWorld, fast_password_hashing  # noqa: F401
from tests.factories import registered
from tests.web.test_pages_http import signed_in


def test_a_flagged_subject_is_marked_on_the_case_page_and_counted(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx, title="反映某中心", subject_name="城关区某某中心", subject_org_code=None)
    with signed_in(site, "dispatcher") as browser:
        page = browser.get(f"/cases/{number}").text
        subject = re.search(r'<dd id="subject">(.*?)</dd>', page, re.S)
        assert subject and "城关区某某中心" in subject.group(1)
        assert aw.ctx.labels.text["subject_unknown"] in subject.group(1)
        board = browser.get("/dashboard").text
        assert re.search(r'id="kpi-subjects-flagged">1<', board)


def test_a_subject_given_by_name_is_marked_among_the_units_to_avoid(aw: AppWorld, site: str) -> None:
    number = registered(aw.ctx, title="反映住建局", subject_name="兰州市城关区住房和城乡建设局",
                        subject_org_code=None)
    with signed_in(site, "dispatcher") as browser:
        page = browser.get(f"/cases/{number}").text
    avoided = set(re.findall(r'<option value="([A-Z-]+)" disabled', page))
    assert avoided == {"GS-LZ-CG-ZJJ"}
    assert aw.ctx.labels.text["subject_unknown"] not in page
