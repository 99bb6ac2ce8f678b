"""Cases over the API: register, list and filter, read, act; and every error leaves things as they were."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from duban.services import Actor, CaseService
from tests.appworld import AppWorld
from tests.factories import REPORTED

COMPLAINT: dict[str, Any] = {
    "office_code": "GS", "title": "城关区住建局拖欠某建设集团工程款4216万元",
    "summary": "反映人称工程已完工三年，尾款一直未付。𠀋𡈽（扩展区汉字）与 emoji 🚧 也应原样保存。",
    "category": "arrears", "channel": "phone", "priority": "enterprise",
    "complainant_name": "测试反映人", "complainant_phone": "19900123456", "complainant_real_name": True,
    "subject_name": "城关区住建局", "subject_org_code": "GS-LZ-CG-ZJJ",
}


def register(client: httpx.Client, aw: AppWorld, *, who: str = "clerk", **changes: Any) -> httpx.Response:
    return client.post("/api/cases", json={**COMPLAINT, **changes}, headers=aw.auth(who))


def act(client: httpx.Client, aw: AppWorld, number: str, action: str, who: str,
        **body: Any) -> httpx.Response:
    return client.post(f"/api/cases/{number}/actions/{action}", json=body, headers=aw.auth(who))


def new_case(client: httpx.Client, aw: AppWorld, **changes: Any) -> str:
    answer = register(client, aw, **changes)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case"]["number"])


def transferred(client: httpx.Client, aw: AppWorld, unit: str = "GS-LZ-CG-GOV", **changes: Any) -> str:
    number = new_case(client, aw, **changes)
    assert act(client, aw, number, "transfer", "dispatcher", form={"unit": unit}).status_code == 200
    return number


def test_registering_returns_the_case_with_its_triage_deadline_and_keeps_unicode(
        aw: AppWorld, client: httpx.Client) -> None:
    answer = register(client, aw)
    assert answer.status_code == 201
    body = answer.json()
    assert body["linked"] is False
    case = body["case"]
    assert case["number"].startswith("GS-2023-") and case["state"] == "received"
    assert case["state_label"] == "待处置" and case["deadline_kind"] == "triage" and case["deadline_on"]
    detail = client.get(f"/api/cases/{case['number']}", headers=aw.auth("clerk")).json()
    assert detail["case"]["summary"] == COMPLAINT["summary"]


def test_a_repeat_of_an_open_case_is_linked_not_opened_twice(aw: AppWorld, client: httpx.Client) -> None:
    first = new_case(client, aw)
    again = register(client, aw, complainant_name="另一人",
                     title="城关区住建局 拖欠某建设集团工程款4216万元！")
    assert again.status_code == 201 and again.json()["linked"] is True
    assert again.json()["case"]["number"] == first and again.json()["case"]["repeat_count"] == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"title": ""}, "title"),
    ({"title": "长" * 201}, "title"),
    ({"complainant_phone": "call me maybe"}, "complainant_phone"),
    ({"office_code": "GS-NOWHERE"}, "office_code"),
    ({"office_code": "GS-LZ-ZJJ"}, "office_code"),
    ({"subject_org_code": "GS-NOWHERE"}, "subject_org_code"),
    ({"category": "gossip"}, "category"),
    ({"priority": "urgent"}, "priority"),
    ({"received_at": "2023-09-27T10:00:00"}, "received_at"),
    ({"surprise": 1}, "body"),  # a made-up key is not repeated back
])
def test_bad_registrations_get_422_naming_the_field_and_create_nothing(
        aw: AppWorld, client: httpx.Client, change: dict[str, Any], field: str) -> None:
    before = aw.snapshot()
    answer = register(client, aw, **change)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == field and body["code"] == "invalid_input" and body["message_zh"]
    assert "call me maybe" not in answer.text  # input is never echoed back
    assert aw.snapshot() == before


def test_a_missing_title_is_reported_in_chinese(aw: AppWorld, client: httpx.Client) -> None:
    body = {k: v for k, v in COMPLAINT.items() if k != "title"}
    answer = client.post("/api/cases", json=body, headers=aw.auth("clerk"))
    assert answer.status_code == 422 and answer.json()["message_zh"] == "请填写标题"


@pytest.mark.parametrize("who", ["unit", "leader", "supervisor"])
def test_roles_that_do_not_register_get_403_and_nothing_is_created(
        aw: AppWorld, client: httpx.Client, who: str) -> None:
    before = aw.snapshot()
    answer = register(client, aw, who=who)
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert aw.snapshot() == before


def test_a_county_clerk_cannot_register_at_the_province(aw: AppWorld, client: httpx.Client) -> None:
    answer = register(client, aw, who="county")
    assert answer.status_code == 422 and answer.json()["field"] == "office_code"
    assert register(client, aw, who="county", office_code="GS-LZ-CG").status_code == 201


def test_the_whole_journey_over_the_api_ends_closed_with_every_step_in_the_timeline(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    report = act(client, aw, number, "submit_report", "unit",
                 form={**REPORTED, "text": "已协调支付首笔款项。"})
    assert report.json()["case"]["state"] == "reported"
    back = act(client, aw, number, "send_back", "supervisor",
               form={"reasons": "事实不清：未说明剩余欠款何时支付。"}, expected_version=3)
    assert back.status_code == 200 and back.json()["case"]["state"] == "returned"
    assert "approve" not in [a["action"] for a in back.json()["allowed_actions"]]  # the unit's turn
    act(client, aw, number, "submit_report", "unit", form={**REPORTED, "text": "剩余款项已于本周全部支付。"})
    act(client, aw, number, "approve", "supervisor", form={"note": "材料齐全"})
    done = act(client, aw, number, "record_callback", "clerk",
               form={"method": "phone", "result": "satisfied", "note": "回访满意"})
    assert done.json()["case"]["state"] == "closed" and done.json()["case"]["state_label"] == "已办结"
    detail = client.get(done.json()["href"], headers=aw.auth("clerk")).json()
    assert detail["reviews"][0]["reasons"] == "事实不清：未说明剩余欠款何时支付。"
    actions = [e["action"] for e in detail["timeline"]]
    assert actions == ["register", "transfer", "submit_report", "send_back", "submit_report", "approve",
                       "record_callback"]
    assert detail["timeline"][3]["action_label"] == "退回重新办理"
    assert detail["timeline_total"] == 7 and detail["reports_total"] == 2


# What an action answers: what a client needs to go on. Nothing of the case's history, which grows
# with every action (answering with it once cost six times the action itself).
ACTED_KEYS = {"visible", "case", "office", "unit", "allowed_actions", "href"}
ACTED_CASE_KEYS = {
    "number", "title", "state", "state_label", "disposition", "disposition_label", "priority",
    "priority_label", "level", "received_at", "dispatched_at", "closed_at", "updated_at", "deadline_kind",
    "deadline_on", "deadline_provisional", "extension_days", "extension_unit", "extension_label",
    "workdays_left", "warning", "warning_label", "return_count", "repeat_count", "version",
    "decline_reason", "decline_reason_label"}


def test_an_action_answers_where_the_case_stands_and_what_comes_next_not_its_history(
        aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    first = act(client, aw, number, "key_supervise", "dispatcher", form={"unit": "GS-LZ-CG-GOV"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == ACTED_KEYS and set(body["case"]) == ACTED_CASE_KEYS
    assert body["visible"] is True and body["href"] == f"/api/cases/{number}"
    case = body["case"]
    assert case["number"] == number and case["state"] == "key_supervised" and case["state_label"]
    assert case["version"] == 2 and case["disposition"] == "key_supervise" and case["disposition_label"]
    assert case["deadline_on"] and case["warning"] == "none" and case["warning_label"]
    assert body["unit"] == {"code": "GS-LZ-CG-GOV", "name": body["unit"]["name"], "level": "county"}
    assert body["office"]["code"] == "GS"
    progress = next(a for a in body["allowed_actions"] if a["action"] == "report_progress")
    assert progress["label"] and [f["name"] for f in progress["fields"]] == ["text"]
    sizes = []
    for week in range(12):
        answer = act(client, aw, number, "report_progress", "unit",
                     form={"text": f"第{week}周：已约谈施工方。"}, expected_version=2 + week)
        assert answer.status_code == 200, answer.text
        assert set(answer.json()) == ACTED_KEYS and answer.json()["case"]["version"] == 3 + week
        sizes.append(len(answer.content))
    assert max(sizes) - min(sizes) <= 8  # the answer does not grow with the history
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("unit")).json()
    assert len(detail["reports"]) == 12 and detail["timeline_total"] == 14


def test_the_unit_acting_is_answered_without_the_complainant_in_the_title(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw, title="测试反映人反映城关区住建局拖欠工程款")
    answer = act(client, aw, number, "submit_report", "unit",
                 form={**REPORTED, "text": "已协调支付首笔款项。"})
    assert answer.status_code == 200
    assert "测试反映人" not in answer.text and "19900123456" not in answer.text
    assert answer.json()["case"]["title"].startswith("（保密）")
    reviewer = act(client, aw, number, "send_back", "supervisor", form={"reasons": "不清楚"})
    assert reviewer.json()["case"]["title"].startswith("（保密）")  # policy: supervisors read redacted
    office = client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher"))
    assert office.json()["case"]["title"].startswith("测试反映人")


def test_a_long_history_is_shown_newest_first_and_paged_in_full(aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw, title="测试反映人反映的长期重点督办事项")
    act(client, aw, number, "key_supervise", "dispatcher", form={"unit": "GS-LZ-CG-GOV"})
    service = CaseService(aw.ctx)
    unit = Actor(name="unit", role="unit", org_id=aw.ctx.orgs.by_code("GS-LZ-CG-GOV").id)
    for week in range(60):
        service.act(number, "report_progress", actor=unit, form={"text": f"第{week}周进展（测试反映人）"})
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("unit")).json()
    assert detail["timeline_total"] == 62 and len(detail["timeline"]) == 50
    assert [e["seq"] for e in detail["timeline"]] == list(range(13, 63))  # the newest, oldest first
    assert detail["reports_total"] == 60 and len(detail["reports"]) == 50
    assert detail["reports"][-1]["text"] == "第59周进展（（保密））"
    assert detail["links"] == {"timeline": f"/api/cases/{number}/timeline",
                               "reports": f"/api/cases/{number}/reports"}
    seen: list[int] = []
    offset = 0
    while True:
        page = client.get(detail["links"]["timeline"], params={"limit": 25, "offset": offset},
                          headers=aw.auth("unit")).json()
        assert page["total"] == 62 and page["limit"] == 25
        seen += [e["seq"] for e in page["items"]]
        if not page["has_more"]:
            break
        offset += 25
    assert seen == list(range(1, 63))
    assert page["items"][-1]["action_label"]
    reports = client.get(detail["links"]["reports"], params={"limit": 3}, headers=aw.auth("unit"))
    assert reports.status_code == 200 and "测试反映人" not in reports.text
    assert [r["text"] for r in reports.json()["items"]][0] == "第0周进展（（保密））"
    assert reports.json()["total"] == 60 and reports.json()["has_more"] is True
    office = client.get(detail["links"]["reports"], params={"offset": 59}, headers=aw.auth("dispatcher"))
    assert office.json()["items"][0]["text"] == "第59周进展（测试反映人）"
    assert office.json()["has_more"] is False
    elsewhere = client.get(detail["links"]["timeline"], headers=aw.auth("other-unit"))
    assert elsewhere.status_code == 404


def test_the_actions_route_lists_what_may_be_done_now_with_form_fields(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    unit = client.get(f"/api/cases/{number}/actions", headers=aw.auth("unit")).json()
    names = [a["action"] for a in unit]
    assert "submit_report" in names and "approve" not in names
    report = next(a for a in unit if a["action"] == "submit_report")
    text = {"max_length": 20000, "minimum": None, "maximum": None, "choices": None, "unit": None}
    assert report["fields"] == [
        {"name": "text", "label": "办理情况", "type": "textarea", "required": True, **text},
        {"name": "finding", "label": "是否属实", "type": "choice", "required": True, "max_length": None,
         "minimum": None, "maximum": None, "choices": [["true", "属实"], ["partly_true", "部分属实"],
                                                       ["untrue", "不属实"]], "unit": None},
        {"name": "actions_taken", "label": "办理措施（做了什么）", "type": "textarea", "required": True,
         **text},
        {"name": "rectification", "label": "整改措施", "type": "textarea", "required": False, **text},
        {"name": "accountability", "label": "问责情况", "type": "textarea", "required": False, **text}]
    assert client.get(f"/api/cases/{number}/actions", headers=aw.auth("leader")).json() == []


def test_an_action_not_allowed_now_gets_409_listing_the_allowed_ones_and_changes_nothing(
        aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    before = aw.snapshot()
    answer = act(client, aw, number, "approve", "supervisor", form={})
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "action_not_allowed" and "escalate" in body["allowed_actions"]
    assert "待处置" in body["message_zh"] and "审核通过" in body["message_zh"]
    assert aw.snapshot() == before


def test_a_stale_version_gets_409_and_changes_nothing(aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    before = aw.snapshot()
    answer = act(client, aw, number, "submit_report", "unit",
                 form={**REPORTED, "text": "办结"}, expected_version=1)
    assert answer.status_code == 409 and answer.json()["code"] == "stale_case"
    assert "刷新" in answer.json()["message_zh"]
    assert aw.snapshot() == before


@pytest.mark.parametrize(("action", "form", "field"), [
    ("send_back", {}, "reasons"),
    ("send_back", {"reasons": "   "}, "reasons"),
    ("send_back", {"reasons": "理" * 4001}, "reasons"),
    ("send_back", {"reasons": "ok", "extra": 1}, "form"),  # a made-up key is not repeated back
])
def test_a_bad_form_gets_422_naming_the_field_and_changes_nothing(
        aw: AppWorld, client: httpx.Client, action: str, form: dict[str, Any], field: str) -> None:
    number = transferred(client, aw)
    act(client, aw, number, "submit_report", "unit", form={**REPORTED, "text": "已办"})
    before = aw.snapshot()
    answer = act(client, aw, number, action, "supervisor", form=form)
    assert answer.status_code == 422 and answer.json()["field"] == field
    assert answer.json()["message_zh"]
    assert aw.snapshot() == before


def test_dispatching_to_a_unit_that_does_not_exist_is_a_422_on_the_unit_field(
        aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    before = aw.snapshot()
    answer = act(client, aw, number, "transfer", "dispatcher", form={"unit": "GS-XX-NOPE"})
    assert answer.status_code == 422 and answer.json()["field"] == "unit"
    assert "GS-XX-NOPE" not in answer.text and "承办单位" in answer.json()["message_zh"]
    assert aw.snapshot() == before


def test_an_extension_over_the_limit_is_refused_in_both_languages(aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    before = aw.snapshot()
    answer = act(client, aw, number, "request_extension", "unit", form={"days": 31, "reason": "需要时间"})
    assert answer.status_code == 422 and answer.json()["field"] == "days"
    assert answer.json()["message_zh"] == "延期时长不能超过22个工作日（信访工作条例第34条：延期不得超过30日）"
    assert aw.snapshot() == before


def test_an_unknown_action_or_case_is_reported_not_guessed(aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    unknown_action = act(client, aw, number, "teleport", "admin", form={})
    assert unknown_action.status_code == 422 and unknown_action.json()["field"] == "action"
    missing = client.get("/api/cases/GS-2023-99999", headers=aw.auth("admin"))
    assert missing.status_code == 404 and missing.json()["message_zh"] == "监督意见不存在，或您无权查看"
    assert "99999" not in missing.text


def test_the_leader_reads_everything_and_changes_nothing(aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    assert client.get(f"/api/cases/{number}", headers=aw.auth("leader")).status_code == 200
    before = aw.snapshot()
    answer = act(client, aw, number, "transfer", "leader", form={"unit": "GS-LZ-CG-GOV"})
    assert answer.status_code == 403 and answer.json()["message_zh"] == "您的角色“领导”不能执行“转办”"
    assert aw.snapshot() == before


def test_a_unit_sees_only_its_own_cases_and_others_look_like_they_do_not_exist(
        aw: AppWorld, client: httpx.Client) -> None:
    mine = transferred(client, aw, unit="GS-LZ-CG-GOV")
    theirs = transferred(client, aw, unit="GS-LZ-CG-SWJ", title="城关区某小区停水三天")
    listed = client.get("/api/cases", headers=aw.auth("unit")).json()["items"]
    assert [r["number"] for r in listed] == [mine]
    other = client.get(f"/api/cases/{theirs}", headers=aw.auth("unit"))
    nothing = client.get("/api/cases/GS-2023-99999", headers=aw.auth("unit"))
    assert other.status_code == nothing.status_code == 404
    assert other.json()["code"] == nothing.json()["code"] == "case_not_found"
    before = aw.snapshot()
    assert act(client, aw, theirs, "submit_report", "unit", form={**REPORTED, "text": "x"}).status_code == 404
    assert aw.snapshot() == before
    filtered = client.get("/api/cases", params={"unit": "GS-LZ-CG-SWJ"}, headers=aw.auth("unit")).json()
    assert filtered["items"] == []


def test_offices_see_their_region_the_province_sees_everything(aw: AppWorld, client: httpx.Client) -> None:
    province = new_case(client, aw)
    county = new_case(client, aw, office_code="GS-LZ-CG", title="城关区某路段长期围挡")
    city = new_case(client, aw, office_code="GS-LZ", title="兰州市某小区供暖不热")

    def seen(who: str) -> set[str]:
        return {r["number"] for r in client.get("/api/cases", headers=aw.auth(who)).json()["items"]}

    assert seen("dispatcher") == {province, county, city}
    assert seen("city") == {county, city}
    assert seen("county") == {county}
    assert client.get(f"/api/cases/{province}", headers=aw.auth("county")).status_code == 404


def test_list_filters_narrow_the_list(aw: AppWorld, client: httpx.Client) -> None:
    a = transferred(client, aw)
    b = new_case(client, aw, title="某村饮水困难", priority="livelihood", category="water",
                 subject_name="城关区水务局", subject_org_code="GS-LZ-CG-SWJ")
    c = new_case(client, aw, office_code="GS-LZ", title="兰州市住建局不作为", subject_org_code="GS-LZ-ZJJ",
                 subject_name="兰州市住建局", priority="normal")

    def numbers(**params: Any) -> list[str]:
        answer = client.get("/api/cases", params=params, headers=aw.auth("admin"))
        assert answer.status_code == 200, answer.text
        return [r["number"] for r in answer.json()["items"]]

    assert numbers(state="transferred") == [a]
    assert numbers(disposition="transfer") == [a]
    assert set(numbers(level="province")) == {a, b} and numbers(level="city") == [c]
    assert numbers(unit="GS-LZ-CG-GOV") == [a]
    assert numbers(priority="livelihood") == [b]
    assert numbers(text="饮水") == [b]
    assert numbers(text=c) == [c]
    assert numbers()[0] == b  # livelihood first: 民生急难 is handled first
    assert numbers(warning="red") == [] and numbers(overdue="true") == []
    page = client.get("/api/cases", params={"limit": 2}, headers=aw.auth("admin")).json()
    assert len(page["items"]) == 2 and page["has_more"] is True
    bad = client.get("/api/cases", params={"state": "lost"}, headers=aw.auth("admin"))
    assert bad.status_code == 422 and bad.json()["field"] == "state"
    unknown_unit = client.get("/api/cases", params={"unit": "GS-NOPE"}, headers=aw.auth("admin"))
    assert unknown_unit.status_code == 422 and unknown_unit.json()["field"] == "unit"
    too_many = client.get("/api/cases", params={"limit": 501}, headers=aw.auth("admin"))
    assert too_many.status_code == 422 and too_many.json()["field"] == "limit"


def test_overdue_and_red_filters_find_cases_past_their_deadline(aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    aw.advance(days=60)
    numbers = [r["number"] for r in client.get("/api/cases", params={"overdue": "true"},
                                                headers=aw.auth("admin")).json()["items"]]
    assert numbers == [number]
    red = client.get("/api/cases", params={"warning": "red"}, headers=aw.auth("unit")).json()["items"]
    assert [r["number"] for r in red] == [number] and red[0]["warning_label"] == "红色预警（超期）"


def test_no_route_hands_a_case_to_the_unit_it_complains_about(aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)  # complains about GS-LZ-CG-ZJJ
    answer = act(client, aw, number, "transfer", "dispatcher", form={"unit": "GS-LZ-CG-ZJJ"})
    assert answer.status_code == 200
    assert answer.json()["unit"]["code"] == "GS-LZ"  # the office a level above takes it instead
    other = new_case(client, aw, title="另一件", subject_org_code="GS-LZ-CG-ZJJ")
    act(client, aw, other, "transfer", "dispatcher", form={"unit": "GS-LZ-CG-GOV"})
    moved = act(client, aw, other, "reassign", "supervisor", form={"unit": "GS-LZ-CG-ZJJ", "reason": "改派"})
    assert moved.json()["unit"]["code"] == "GS-LZ"


def test_a_body_over_the_limit_gets_413(aw: AppWorld, client: httpx.Client) -> None:
    before = aw.snapshot()
    answer = client.post("/api/cases", content=b"{" + b" " * 600_000 + b"}",
                         headers={**aw.auth("clerk"), "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"
    assert aw.snapshot() == before


def test_orgs_and_labels_and_forms_are_there_for_clients(aw: AppWorld, client: httpx.Client) -> None:
    orgs = client.get("/api/orgs", params={"under": "GS-LZ-CG"}, headers=aw.auth("dispatcher")).json()
    assert [o["code"] for o in orgs][:2] == ["GS-LZ-CG", "GS-LZ-CG-GOV"]
    assert client.get("/api/orgs/GS-NOPE", headers=aw.auth("dispatcher")).status_code == 404
    labels = client.get("/api/meta/labels", headers=aw.auth("unit")).json()
    assert labels["states"]["reported"] == "待审核"
    forms = client.get("/api/meta/forms", headers=aw.auth("unit")).json()
    assert {f["action"] for f in forms} >= {"transfer", "send_back", "request_extension"}
    spec = client.get("/openapi.json").json()
    assert "/api/cases/{number}/actions/{action}" in spec["paths"]


def test_the_dashboard_counts_what_the_viewer_may_see(aw: AppWorld, client: httpx.Client) -> None:
    transferred(client, aw)
    new_case(client, aw, office_code="GS-LZ", title="兰州市某事项")
    everything = client.get("/api/meta/dashboard", headers=aw.auth("leader")).json()["counts"]
    assert everything["total"] == 2 and everything["by_level"] == {"province": 1, "city": 1}
    assert everything["by_disposition"] == {"transfer": 1, "none": 1}
    unit = client.get("/api/meta/dashboard", headers=aw.auth("unit")).json()["counts"]
    assert unit["total"] == 1 and unit["by_state"] == {"transferred": 1}


def test_an_extension_requested_by_the_unit_and_approved_moves_the_deadline(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    before = client.get(f"/api/cases/{number}", headers=aw.auth("unit")).json()["case"]["deadline_on"]
    asked = act(client, aw, number, "request_extension", "unit", form={"days": 10, "reason": "需协调三方"})
    assert "request_extension" not in [a["action"] for a in asked.json()["allowed_actions"]]
    extensions = client.get(asked.json()["href"], headers=aw.auth("unit")).json()["extensions"]
    assert extensions[0]["status"] == "requested"
    again = act(client, aw, number, "request_extension", "unit", form={"days": 5, "reason": "再延"})
    assert again.status_code == 409 and "request_extension" not in again.json()["allowed_actions"]
    approved = act(client, aw, number, "approve_extension", "supervisor", form={"note": "同意"})
    assert approved.json()["case"]["deadline_on"] > before and approved.json()["case"]["extension_days"] == 10
    extensions = client.get(approved.json()["href"], headers=aw.auth("unit")).json()["extensions"]
    assert extensions[0]["status"] == "approved"


def test_a_return_the_dispatcher_accepts_hands_the_case_back_and_the_unit_loses_sight_of_it(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    asked = act(client, aw, number, "request_return", "unit", form={"reason": "该事项属于水务部门职责"})
    assert asked.status_code == 200 and asked.json()["case"]["state"] == "transferred"
    assert "request_return" not in [a["action"] for a in asked.json()["allowed_actions"]]
    listed = client.get("/api/cases", params={"return_pending": "true"}, headers=aw.auth("dispatcher")).json()
    assert [c["number"] for c in listed["items"]] == [number]
    answer = act(client, aw, number, "accept_return", "dispatcher", form={"note": "同意，改派水务局"})
    assert answer.status_code == 200 and answer.json()["case"]["state"] == "received"
    assert client.get(f"/api/cases/{number}", headers=aw.auth("unit")).status_code == 404
    office = client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher")).json()
    assert office["case"]["state"] == "received" and office["unit"] is None
    [asked_back] = office["returns"]
    assert (asked_back["status"], asked_back["reason"], asked_back["decision_note"]) == (
        "accepted", "该事项属于水务部门职责", "同意，改派水务局")


def test_a_returned_key_supervised_case_still_reports_its_progress_over_the_api(
        aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw)
    assert act(client, aw, number, "key_supervise", "dispatcher",
               form={"unit": "GS-LZ-CG-GOV"}).status_code == 200
    assert act(client, aw, number, "submit_report", "unit",
               form={**REPORTED, "text": "已办结"}).status_code == 200
    back = act(client, aw, number, "send_back", "supervisor", form={"reasons": "整改不到位"})
    assert back.status_code == 200 and back.json()["case"]["state"] == "returned"
    mine = client.get(f"/api/cases/{number}", headers=aw.auth("unit")).json()
    assert "report_progress" in [a["action"] for a in mine["allowed_actions"]]
    answer = act(client, aw, number, "report_progress", "unit", form={"text": "已重新整改"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["case"]["state"] == "returned"
    # Under another disposition a returned case has no progress report to give.
    other = transferred(client, aw, title="城关区住建局另一件")
    act(client, aw, other, "submit_report", "unit", form={**REPORTED, "text": "已办结"})
    act(client, aw, other, "send_back", "supervisor", form={"reasons": "不清楚"})
    refused = act(client, aw, other, "report_progress", "unit", form={"text": "进展"})
    assert refused.status_code == 409, refused.text
