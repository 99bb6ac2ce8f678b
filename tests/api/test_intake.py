"""不予受理 and extensions over the API: reasons as choices, amounts with their unit, the queue."""

from __future__ import annotations

import httpx

from tests.api.test_cases import act, new_case, transferred
from tests.appworld import AppWorld


def _field(actions: list[dict], action: str, name: str) -> dict:
    found = next(a for a in actions if a["action"] == action)
    return next(f for f in found["fields"] if f["name"] == name)


def test_decline_offers_the_policy_reasons_and_reinstate_takes_it_back(
        aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    actions = client.get(f"/api/cases/{number}/actions", headers=aw.auth("dispatcher")).json()
    reason = _field(actions, "decline", "decline_reason")
    assert reason["type"] == "choice" and reason["required"] is True
    assert ["legal_channel", "已进入或应当通过诉讼、仲裁、行政复议等法定途径解决"] in reason["choices"]
    answer = act(client, aw, number, "decline", "dispatcher",
                 form={"decline_reason": "legal_channel", "note": "已提起行政诉讼"})
    assert answer.status_code == 200, answer.text
    case = answer.json()["case"]
    assert (case["state"], case["state_label"]) == ("not_accepted", "不予受理")
    assert case["decline_reason_label"] == "已进入或应当通过诉讼、仲裁、行政复议等法定途径解决"
    assert case["deadline_on"] is None
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("supervisor")).json()
    assert [d["reason"] for d in detail["declines"]] == ["legal_channel"]
    listed = client.get("/api/cases", params={"state": "not_accepted"}, headers=aw.auth("dispatcher")).json()
    assert [(r["number"], r["decline_reason"]) for r in listed["items"]] == [(number, "legal_channel")]
    refused = act(client, aw, number, "reinstate", "dispatcher", form={"reason": "误判"})
    assert refused.status_code == 403
    back = act(client, aw, number, "reinstate", "supervisor", form={"reason": "反映人补充了事实"})
    assert back.status_code == 200 and back.json()["case"]["state"] == "received"
    assert back.json()["case"]["deadline_kind"] == "triage"


def test_a_reason_outside_the_list_is_a_422_naming_the_field(aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    answer = act(client, aw, number, "decline", "dispatcher", form={"decline_reason": "no_time"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "decline_reason"


def test_extension_amounts_carry_their_unit_and_the_approver_grants_part(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    actions = client.get(f"/api/cases/{number}/actions", headers=aw.auth("unit")).json()
    days = _field(actions, "request_extension", "days")
    assert (days["unit"], days["label"]) == ("workdays", "延期时长（工作日）")
    asked = act(client, aw, number, "request_extension", "unit", form={"days": 5, "reason": "需协调"})
    assert asked.status_code == 200, asked.text
    queue = client.get("/api/extensions/pending", headers=aw.auth("supervisor")).json()
    assert queue["count"] == 1
    item = queue["items"][0]
    assert (item["case_number"], item["days"], item["amount_unit"], item["amount_label"]) == (
        number, 5, "workdays", "5个工作日")
    assert client.get("/api/extensions/pending", headers=aw.auth("city")).json()["count"] == 0
    assert client.get("/api/extensions/pending", headers=aw.auth("unit")).json()["count"] == 0
    too_many = act(client, aw, number, "approve_extension", "supervisor", form={"days": 6})
    assert too_many.status_code == 422 and too_many.json()["field"] == "days"
    granted = act(client, aw, number, "approve_extension", "supervisor", form={"days": 3})
    assert granted.status_code == 200, granted.text
    case = granted.json()["case"]
    assert (case["extension_days"], case["extension_unit"]) == (3, "workdays")
    assert case["extension_label"] == "3个工作日"
    assert case["deadline_on"] == "2023-10-13"  # 2023-10-10 + 3 working days
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("supervisor")).json()
    ext = detail["extensions"][0]
    assert (ext["amount_label"], ext["granted_label"]) == ("5个工作日", "3个工作日")
    assert ext["status"] == "approved"
    assert client.get("/api/extensions/pending", headers=aw.auth("supervisor")).json()["count"] == 0


def test_a_refusal_without_a_reason_is_refused(aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    act(client, aw, number, "request_extension", "unit", form={"days": 2, "reason": "需协调"})
    assert act(client, aw, number, "reject_extension", "supervisor", form={}).status_code == 422
    refused = act(client, aw, number, "reject_extension", "supervisor", form={"reason": "理由不充分"})
    assert refused.status_code == 200
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("supervisor")).json()
    assert (detail["extensions"][0]["status"], detail["extensions"][0]["decision_note"]) == (
        "rejected", "理由不充分")
