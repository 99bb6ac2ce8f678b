"""/api/pressure: the proposals the ladder waits on, decided over HTTP, and interviews held."""

from __future__ import annotations

import httpx

from duban.clock import SimulatedClock, parse_local
from duban.services.sweeps import run_deadline_sweep
from tests.appworld import AppWorld
from tests.factories import transferred


def proposed_interview(aw: AppWorld, **overrides: str) -> str:
    """A case transferred on 2023-03-01 whose 约谈 the sweep of 2023-03-22 proposed."""
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(parse_local("2023-03-01 10:00"))
    number = transferred(aw.ctx, **overrides)
    for day in ("2023-03-09", "2023-03-13", "2023-03-15", "2023-03-22"):
        clock.set(parse_local(f"{day} 08:30"))
        run_deadline_sweep(aw.ctx)
    aw.advance(hours=1)  # tokens anew on the moved clock
    return number


def test_a_supervisor_lists_and_confirms_a_proposal(aw: AppWorld, client: httpx.Client) -> None:
    number = proposed_interview(aw)
    queue = client.get("/api/pressure/proposals", headers=aw.auth("supervisor"))
    assert queue.status_code == 200
    body = queue.json()
    assert body["count"] == 1
    (item,) = body["items"]
    assert (item["case_number"], item["action"], item["action_label"]) == (number, "interview", "约谈提醒")
    assert item["overdue_workdays"] == 10
    answer = client.post(f"/api/pressure/proposals/{item['id']}/decision", headers=aw.auth("supervisor"),
                         json={"decision": "confirm"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "confirmed" and answer.json()["status_label"] == "已同意"
    assert client.get("/api/pressure/proposals", headers=aw.auth("supervisor")).json()["count"] == 0
    again = client.post(f"/api/pressure/proposals/{item['id']}/decision", headers=aw.auth("supervisor"),
                        json={"decision": "dismiss", "reason": "再议"})
    assert again.status_code == 409
    held = client.get("/api/pressure/interviews", headers=aw.auth("dispatcher")).json()
    assert held["count"] == 1
    done = client.post(f"/api/pressure/interviews/{held['items'][0]['id']}/held",
                       headers=aw.auth("dispatcher"), json={"held_on": "2023-03-22", "minutes": "已约谈"})
    assert done.status_code == 200 and done.json()["status"] == "held"
    timeline = client.get(f"/api/cases/{number}/timeline", headers=aw.auth("supervisor")).json()["items"]
    assert [e["action"] for e in timeline][-3:] == ["propose_pressure", "interview", "hold_interview"]


def test_change_and_dismiss_need_a_reason_said_in_chinese(aw: AppWorld, client: httpx.Client) -> None:
    proposed_interview(aw)
    (item,) = client.get("/api/pressure/proposals", headers=aw.auth("leader")).json()["items"]
    url = f"/api/pressure/proposals/{item['id']}/decision"
    before = aw.snapshot()
    missing = client.post(url, headers=aw.auth("leader"), json={"decision": "dismiss"})
    assert missing.status_code == 422 and missing.json()["field"] == "reason"
    assert missing.json()["message_zh"] == "请填写理由"
    wrong = client.post(url, headers=aw.auth("leader"), json={"decision": "change", "action": "close",
                                                              "reason": "x"})
    assert wrong.status_code == 422
    assert aw.snapshot() == before
    changed = client.post(url, headers=aw.auth("leader"),
                          json={"decision": "change", "action": "work_reminder", "reason": "先一对一提示"})
    assert changed.status_code == 200 and changed.json()["taken_action"] == "work_reminder"


def test_out_of_scope_proposals_are_not_found_and_units_may_not_look(
        aw: AppWorld, client: httpx.Client) -> None:
    proposed_interview(aw)  # received by the province
    (item,) = client.get("/api/pressure/proposals", headers=aw.auth("supervisor")).json()["items"]
    assert client.get("/api/pressure/proposals", headers=aw.auth("city")).json() == {"items": [], "count": 0}
    before = aw.snapshot()
    for who in ("city", "supervisor"):
        url = f"/api/pressure/proposals/{item['id'] if who == 'city' else 9999}/decision"
        answer = client.post(url, headers=aw.auth(who), json={"decision": "confirm"})
        assert answer.status_code == 404
        assert answer.json()["message_zh"] == "该督促措施建议不存在，或您无权查看"
    for who in ("unit", "clerk"):
        assert client.get("/api/pressure/proposals", headers=aw.auth(who)).status_code == 403
        answer = client.post(f"/api/pressure/proposals/{item['id']}/decision", headers=aw.auth(who),
                             json={"decision": "confirm"})
        assert answer.status_code == 403
    assert client.get("/api/pressure/interviews", headers=aw.auth("unit")).status_code == 403
    assert aw.snapshot() == before
