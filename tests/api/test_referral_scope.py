"""A referral through the API, for every role: who sees a referred case and a referral's steps.

Out of sight is "not found", byte for byte like a number that does not exist, lists included.
"""

from __future__ import annotations

import httpx

from duban.services import CaseService
from duban.services.users import create_user, issue_token
from tests.api.test_out_of_scope import MISSING, _shape
from tests.appworld import PASSWORD, USERS, AppWorld
from tests.factories import DISPATCHER, complaint

# Who sees a case the province office referred (USERS: all of GS but the units and the lower
# offices; "commission" is added below, of 兰州市纪委监委, which has jurisdiction here).
SEEING = {"supervisor", "leader", "admin", "commission"}
DOORS = ("/api/cases/{n}", "/api/cases/{n}/timeline", "/api/cases/{n}/reports", "/api/cases/{n}/actions")


def _commission_user(aw: AppWorld) -> None:
    user = create_user(aw.ctx, username="commission", password=PASSWORD, role="unit", org_code="GS-LZ-JW",
                       display_name="市纪委监委用户")
    aw.tokens["commission"] = issue_token(aw.ctx, user)[0]


def _numbers(client: httpx.Client, aw: AppWorld, who: str) -> set[str]:
    items = client.get("/api/cases?limit=500", headers=aw.auth(who)).json()["items"]
    return {item["number"] for item in items}


def test_a_referred_case_is_found_only_by_the_commission_and_the_office_s_supervisors_and_leaders(
        client: httpx.Client, aw: AppWorld) -> None:
    _commission_user(aw)
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="反映某干部违纪问题"), actor=DISPATCHER).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    answer = client.post(f"/api/cases/{number}/actions/refer", headers=aw.auth("dispatcher"),
                         json={"form": {"note": "涉嫌违纪"}})
    assert answer.status_code == 200 and answer.json()["visible"] is False  # out of the dispatcher's sight
    for who in [*USERS, "commission"]:
        for door in DOORS:
            got = client.get(door.format(n=number), headers=aw.auth(who))
            if who in SEEING:
                assert got.status_code == 200, (who, door)
            else:
                missing = client.get(door.format(n=MISSING), headers=aw.auth(who))
                assert _shape(got, number) == _shape(missing, MISSING), (who, door)
        assert (number in _numbers(client, aw, who)) == (who in SEEING), who
        found = client.get(f"/api/cases?text={number}", headers=aw.auth(who)).json()["items"]
        assert bool(found) == (who in SEEING), who
    acted = client.post(f"/api/cases/{number}/actions/acknowledge_referral", headers=aw.auth("commission"),
                        json={"form": {}})
    assert acted.status_code == 200, acted.text


def test_the_unit_that_goes_on_handling_sees_its_case_but_nothing_of_the_referral(
        client: httpx.Client, aw: AppWorld) -> None:
    _commission_user(aw)
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="办理中发现违纪线索"), actor=DISPATCHER).case.number
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(number, "refer", actor=DISPATCHER, form={"handling_continues": True, "note": "线索"})
    commission = client.get(f"/api/cases/{number}", headers=aw.auth("commission")).json()
    assert commission["referral"]["handling_continues"] is True
    for who in USERS:
        got = client.get(f"/api/cases/{number}", headers=aw.auth(who))
        timeline = client.get(f"/api/cases/{number}/timeline", headers=aw.auth(who))
        if got.status_code != 200:
            continue  # out of scope for other reasons (another unit): not found, as before
        body = got.json()
        actions = [e["action"] for e in timeline.json()["items"]]
        if who in SEEING:
            assert body["referral"] is not None and "refer" in actions, who
        else:
            assert body["referral"] is None and "refer" not in actions, who
            assert "referred_to_id" not in body["case"] and "notice_due_on" not in body["case"], who
            assert "commission" not in got.text and "纪委" not in got.text + timeline.text, who
    assert number in _numbers(client, aw, "unit") and number in _numbers(client, aw, "commission")


def test_the_commission_records_its_outcome_on_the_case_page_from_the_policy_s_list(aw: AppWorld) -> None:
    from tests.api.test_confidentiality import Visitor
    from tests.appworld import LiveServer, app_for

    _commission_user(aw)
    service = CaseService(aw.ctx)
    number = service.register(complaint(title="反映某干部违纪问题"), actor=DISPATCHER).case.number
    with LiveServer(app_for(aw)) as site:
        dispatcher = Visitor(site, aw, "dispatcher")
        commission = Visitor(site, aw, "commission")
        try:
            page = dispatcher.pages.get(f"/cases/{number}").text
            assert 'name="handling_continues"' in page and 'type="checkbox"' in page
            done = dispatcher.pages.post(f"/cases/{number}/actions/refer", data={
                "csrf": dispatcher.csrf, "version": "1", "note": "涉嫌违纪"}, follow_redirects=False)
            assert done.status_code == 303 and done.headers["location"].startswith("/inbox")
            commission.pages.post(f"/cases/{number}/actions/acknowledge_referral",
                                  data={"csrf": commission.csrf, "version": "2"})
            page = commission.pages.get(f"/cases/{number}").text
            assert '<option value="talk_inquiry" >谈话函询</option>' in page
            commission.pages.post(f"/cases/{number}/actions/record_result", data={
                "csrf": commission.csrf, "version": "3", "outcome": "talk_inquiry", "text": "已谈话函询"})
        finally:
            dispatcher.close()
            commission.close()
    case = service.get(number)
    assert case.state == "referred" and case.notice_due_on is not None  # the result is owed next
