"""GET /api/callbacks: 回访工作台 over HTTP, in scope, phone only for roles with the right."""

from __future__ import annotations

import httpx

from duban.services import Actor, CaseService
from duban.services.callbacks import sample_callbacks
from tests.appworld import SECRET_NAME, SECRET_PHONE, AppWorld
from tests.factories import CLERK, DISPATCHER, REPORTED, SUPERVISOR, complaint, org_id, unit_actor


def verified(aw: AppWorld, count: int) -> list[str]:
    """Cases of 省办 handled by 城关区人民政府 and approved: each owes its complainant a call."""
    service = CaseService(aw.ctx)
    numbers = []
    for i in range(count):
        filed = complaint(title=f"待回访第{i}件", complainant_name=SECRET_NAME,
                          complainant_phone=SECRET_PHONE)
        number = service.register(filed, actor=CLERK).case.number
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
        service.act(number, "submit_report", actor=unit_actor(aw.ctx, "GS-LZ-CG-GOV"),
                    form={**REPORTED, "text": "已办结"})
        service.act(number, "approve", actor=SUPERVISOR)
        numbers.append(number)
    sample_callbacks(aw.ctx)
    return numbers


def test_the_callback_desk_filters_mine_and_unassigned(aw: AppWorld, client: httpx.Client) -> None:
    a, b, c = verified(aw, 3)
    assigned = client.post("/api/bulk/actions", headers=aw.auth("supervisor"), json={
        "action": "assign_callback", "numbers": [a, c], "form": {"assignee": "clerk"}})
    assert assigned.json()["counts"]["ok"] == 2, assigned.text
    mine = client.get("/api/callbacks", params={"show": "mine"}, headers=aw.auth("clerk"))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert sorted(i["case_number"] for i in body["items"]) == [a, c] and body["mine_open"] == 2
    assert {(i["assignee"], i["phone"], i["complainant"]) for i in body["items"]} == {
        ("clerk", SECRET_PHONE, SECRET_NAME)}
    assert body["items"][0]["kind_label"] and body["items"][0]["state"] == "verified"
    unassigned = client.get("/api/callbacks?show=unassigned", headers=aw.auth("clerk")).json()
    assert [i["case_number"] for i in unassigned["items"]] == [b]
    everything = client.get("/api/callbacks", headers=aw.auth("supervisor"))
    assert sorted(i["case_number"] for i in everything.json()["items"]) == [a, b, c]
    assert SECRET_PHONE not in everything.text and SECRET_NAME not in everything.text  # no identity right
    CaseService(aw.ctx).act(a, "record_callback", actor=Actor("clerk", "clerk", org_id(aw.ctx, "GS")),
                            form={"method": "phone", "result": "satisfied", "note": "满意"})
    assert client.get("/api/callbacks?show=mine", headers=aw.auth("clerk")).json()["mine_open"] == 1


def test_the_callback_desk_is_scoped_and_refused_to_roles_that_record_none(
        aw: AppWorld, client: httpx.Client) -> None:
    verified(aw, 1)
    county = client.get("/api/callbacks", headers=aw.auth("county"))  # 城关区 holds none of 省办's
    assert county.status_code == 200 and county.json()["items"] == []
    for user in ("leader", "unit"):
        refused = client.get("/api/callbacks", headers=aw.auth(user))
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    bad = client.get("/api/callbacks?show=everything", headers=aw.auth("clerk"))
    assert bad.status_code == 422
