"""回访 over the API: the form's fields and choices, the callback as the case shows it, and the
refusals that say what is allowed."""

from __future__ import annotations

import httpx

from tests.api.test_cases import act, transferred
from tests.appworld import AppWorld
from tests.factories import REPORTED


def verified(client: httpx.Client, aw: AppWorld) -> str:
    number = transferred(client, aw)
    act(client, aw, number, "submit_report", "unit", form={**REPORTED, "text": "已协调解决。"})
    act(client, aw, number, "approve", "supervisor", form={"note": "材料齐全"})
    return number


def test_the_callback_form_offers_its_methods_and_results_and_close_its_reasons(
        aw: AppWorld, client: httpx.Client) -> None:
    number = verified(client, aw)
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("supervisor")).json()
    forms = {a["action"]: {f["name"]: f for f in a["fields"]} for a in detail["allowed_actions"]}
    callback = forms["record_callback"]
    assert callback["method"]["type"] == "choice" and callback["method"]["required"]
    assert callback["method"]["choices"] == [["phone", "电话"], ["sms", "短信"], ["visit", "走访"]]
    assert callback["result"]["choices"] == [["satisfied", "满意"], ["basically_satisfied", "基本满意"],
                                             ["unsatisfied", "不满意"], ["unreachable", "联系不上"]]
    assert forms["close"]["reason"]["type"] == "choice" and not forms["close"]["reason"]["required"]
    assert "close_unreachable" not in forms  # no attempt has failed yet


def test_an_unreachable_attempt_then_a_visit_show_in_the_case_and_its_timeline(
        aw: AppWorld, client: httpx.Client) -> None:
    number = verified(client, aw)
    tried = act(client, aw, number, "record_callback", "clerk",
                form={"method": "phone", "result": "unreachable", "note": "无人接听"})
    assert tried.status_code == 200 and tried.json()["case"]["state"] == "verified"
    done = act(client, aw, number, "record_callback", "clerk",
               form={"method": "visit", "result": "basically_satisfied"})
    assert done.json()["case"]["state"] == "closed"
    detail = client.get(f"/api/cases/{number}", headers=aw.auth("clerk")).json()
    shown = [(c["method"], c["method_label"], c["result"], c["result_label"]) for c in detail["callbacks"]]
    assert shown == [("phone", "电话", "unreachable", "联系不上"),
                     ("visit", "走访", "basically_satisfied", "基本满意")]
    assert [e["action_label"] for e in detail["timeline"][-2:]] == [
        "登记回访（电话·联系不上）", "登记回访（走访·基本满意）"]


def test_refusals_name_the_field_and_what_is_allowed(aw: AppWorld, client: httpx.Client) -> None:
    number = verified(client, aw)
    unhappy = act(client, aw, number, "record_callback", "clerk",
                  form={"method": "phone", "result": "unsatisfied"})
    assert unhappy.status_code == 422 and unhappy.json()["field"] == "reason"
    owed = act(client, aw, number, "close", "supervisor", form={"note": "已办结"})
    problem = owed.json()
    assert owed.status_code == 422 and (problem["code"], problem["field"]) == ("callback_owed", "reason")
    assert "record_callback" in problem["message"] and "close_unreachable" in problem["message"]
    assert "实名反映" in problem["message_zh"] and "反映人明确表示无需回访" in problem["message_zh"]
    assert "3次" in problem["message_zh"]
    early = act(client, aw, number, "close_unreachable", "supervisor")
    assert early.status_code == 409 and early.json()["code"] == "action_not_allowed"
    closed = act(client, aw, number, "close", "supervisor", form={"reason": "no_contact"})
    assert closed.status_code == 200 and closed.json()["case"]["state"] == "closed"
