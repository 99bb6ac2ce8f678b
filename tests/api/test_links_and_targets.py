"""Over the API: links answer nothing about a case out of scope; dispatch targets; flagged subjects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from duban.services import Actor, CaseService
from tests.api.test_cases import register
from tests.appworld import AppWorld
from tests.factories import REPORTED, complaint

DISPATCHER = Actor("省分流员", "dispatcher")
SUPERVISOR = Actor("省审核员", "supervisor")


def _province_case(aw: AppWorld, state: str) -> str:
    """Received by the province and handed to a province department: the county sees none of it."""
    service = CaseService(aw.ctx)
    number = service.register(complaint(title=f"省本级{state}", subject_name="", subject_org_code=None),
                              actor=DISPATCHER).case.number
    if state != "received":
        service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-FGW"})
        service.act(number, "submit_report", actor=DISPATCHER, form={**REPORTED, "text": "已办"})
        if state == "returned":
            service.act(number, "send_back", actor=SUPERVISOR, form={"reasons": "不实"})
        else:
            service.act(number, "approve", actor=SUPERVISOR)
            service.act(number, "close", actor=SUPERVISOR, form={"reason": "declined"})
    return number


def _shape(answer: httpx.Response, ref: str) -> tuple[int, str]:
    return answer.status_code, answer.text.replace(ref, "<ref>")


@pytest.mark.parametrize("state", ["received", "returned", "closed"])
def test_repeat_of_a_case_out_of_scope_answers_like_one_that_does_not_exist(
        client: httpx.Client, aw: AppWorld, state: str) -> None:
    number = _province_case(aw, state)
    missing = number[:-5] + "99999"
    before = aw.snapshot()
    hidden = register(client, aw, who="county", office_code="GS-LZ-CG", repeat_of=number)
    absent = register(client, aw, who="county", office_code="GS-LZ-CG", repeat_of=missing)
    assert hidden.status_code == 404
    assert _shape(hidden, number) == _shape(absent, missing)
    assert "省本级" not in hidden.text
    assert aw.snapshot() == before


def test_the_automatic_link_answers_with_a_case_of_the_county_s_own(
        client: httpx.Client, aw: AppWorld) -> None:
    province = _province_case(aw, "returned")
    CaseService(aw.ctx).register(complaint(), actor=DISPATCHER)  # the same matter, at the province
    answer = register(client, aw, who="county", office_code="GS-LZ-CG")
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["linked"] is False
    assert body["case"]["number"].startswith("GS-LZ-CG-")
    assert province not in answer.text


def test_a_county_transfer_to_another_city_s_unit_or_an_office_is_refused_naming_the_field(
        client: httpx.Client, aw: AppWorld) -> None:
    answer = register(client, aw, who="county", office_code="GS-LZ-CG", title="县里的事")
    number = answer.json()["case"]["number"]
    for unit in ("GS-LX-GOV", "GS-LZ-ZJJ", "GS-LZ-CG", "GS-LZ"):
        before = aw.snapshot()
        answer = client.post(f"/api/cases/{number}/actions/transfer", json={"form": {"unit": unit}},
                             headers=aw.auth("county"))
        assert answer.status_code == 422, (unit, answer.text)
        body = answer.json()
        assert body["field"] == "unit" and body["code"] == "invalid_input"
        assert unit not in answer.text
        assert "承办单位" in body["message_zh"] and "城关区" in body["message_zh"]
        assert aw.snapshot() == before
    ok = client.post(f"/api/cases/{number}/actions/transfer", json={"form": {"unit": "GS-LZ-CG-SWJ"}},
                     headers=aw.auth("county"))
    assert ok.status_code == 200, ok.text


def test_a_flagged_subject_is_shown_on_the_case_and_counted(client: httpx.Client, aw: AppWorld) -> None:
    def flagged_count() -> int:
        board = client.get("/api/meta/dashboard", headers=aw.auth("dispatcher")).json()
        return int(board["counts"]["subjects_flagged"])

    before = flagged_count()
    flagged = register(client, aw, who="dispatcher", subject_name="城关区某某中心", subject_org_code=None,
                       title="反映某中心").json()["case"]["number"]
    resolved = register(client, aw, who="dispatcher", subject_name="兰州市城关区住房和城乡建设局",
                        subject_org_code=None, title="反映住建局").json()["case"]["number"]
    detail = client.get(f"/api/cases/{flagged}", headers=aw.auth("dispatcher")).json()
    assert detail["subject"]["resolution"] == "unknown"
    detail = client.get(f"/api/cases/{resolved}", headers=aw.auth("dispatcher")).json()
    assert detail["subject"]["resolution"] == "name"
    assert flagged_count() == before + 1
