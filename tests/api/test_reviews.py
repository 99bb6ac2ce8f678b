"""复查 / 复核 over the API: the request, the reviewing office's decision, and the named refusals."""

from __future__ import annotations

from typing import Any

import httpx

from duban.services.users import create_user, issue_token
from tests.api.test_cases import act, new_case
from tests.appworld import PASSWORD, AppWorld
from tests.factories import REPORTED


def _county_case(client: httpx.Client, aw: AppWorld) -> str:
    """Received by the county office, handled by the county government, not yet replied to."""
    number = new_case(client, aw, who="county", office_code="GS-LZ-CG", subject_name="某小区物业",
                      subject_org_code=None, title="小区停水一周无人处理")
    assert act(client, aw, number, "transfer", "county", form={"unit": "GS-LZ-CG-GOV"}).status_code == 200
    assert act(client, aw, number, "submit_report", "unit",
               form={**REPORTED, "text": "已恢复供水"}).status_code == 200
    return number


def _county_supervisor(aw: AppWorld) -> None:
    user = create_user(aw.ctx, username="county-supervisor", password=PASSWORD, role="supervisor",
                       org_code="GS-LZ-CG", display_name="区审核员")
    aw.tokens["county-supervisor"] = issue_token(aw.ctx, user)[0]


def _detail(client: httpx.Client, aw: AppWorld, number: str, who: str) -> httpx.Response:
    return client.get(f"/api/cases/{number}", headers=aw.auth(who))


def _decision(opinion: str) -> dict[str, Any]:
    return {"form": {"opinion": opinion, "reply": "经复查，原处理意见事实清楚"}}


def test_a_review_is_asked_for_decided_above_and_refused_once_concluded(
        client: httpx.Client, aw: AppWorld) -> None:
    _county_supervisor(aw)
    number = _county_case(client, aw)
    early = act(client, aw, number, "request_reexamination", "county", form={"reason": "不满意"})
    assert early.status_code == 409
    assert early.json()["code"] == "action_not_allowed"  # still reported: no reply to review

    assert act(client, aw, number, "approve", "county-supervisor", form={"note": "属实"}).status_code == 200
    asked = act(client, aw, number, "request_reexamination", "county", form={"reason": "供水仍不稳定"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["case"]["state"] == "reexamination"

    assert _detail(client, aw, number, "unit").status_code == 404  # the unit: not while under review
    city = _detail(client, aw, number, "city").json()
    assert [r["level"] for r in city["review_requests"]] == ["reexamination"]
    decide = next(a for a in city["allowed_actions"] if a["action"] == "decide_reexamination")
    opinion = next(f for f in decide["fields"] if f["name"] == "opinion")
    assert opinion["type"] == "choice" and ["uphold", "维持原处理意见"] in opinion["choices"]

    refused = act(client, aw, number, "decide_reexamination", "county-supervisor", **_decision("uphold"))
    assert refused.status_code == 403
    assert act(client, aw, number, "decide_reexamination", "city", **_decision("uphold")).status_code == 200
    again = act(client, aw, number, "request_reexamination", "county", form={"reason": "再复查"})
    assert again.status_code == 409 and again.json()["code"] == "review_not_allowed"
    assert "复核" in again.json()["message_zh"]

    assert act(client, aw, number, "request_recheck", "county", form={"reason": "仍不服"}).status_code == 200
    assert act(client, aw, number, "decide_recheck", "city", **_decision("uphold")).status_code == 403
    done = act(client, aw, number, "decide_recheck", "supervisor", **_decision("uphold"))
    assert done.status_code == 200 and done.json()["case"]["state"] == "closed"
    facts = _detail(client, aw, number, "supervisor").json()["case"]
    assert facts["concluded_at"] is not None and facts["review_level"] == "recheck"

    concluded = act(client, aw, number, "request_recheck", "county", form={"reason": "再次请求"})
    assert concluded.status_code == 409
    assert concluded.json()["code"] == "case_concluded" and "终结" in concluded.json()["message_zh"]


def test_a_request_after_the_window_is_refused_with_the_day_it_ended(
        client: httpx.Client, aw: AppWorld) -> None:
    _county_supervisor(aw)
    number = _county_case(client, aw)
    assert act(client, aw, number, "approve", "county-supervisor", form={}).status_code == 200
    aw.advance(days=45)
    late = act(client, aw, number, "request_reexamination", "county", form={"reason": "不满意"})
    assert late.status_code == 409
    body = late.json()
    assert body["code"] == "review_window_passed" and "期限已过" in body["message_zh"]
    assert "届满" in body["message_zh"]
