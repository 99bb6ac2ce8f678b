"""提级直办 over the API: the office of record in every case answer, and the office below refused
with a 403 that names who holds the case, and changes nothing."""

from __future__ import annotations

import httpx

from tests.api.test_cases import act, new_case
from tests.appworld import AppWorld


def test_the_county_reads_the_case_the_city_took_over_and_is_told_the_city_holds_it(
        aw: AppWorld, client: httpx.Client) -> None:
    number = new_case(client, aw, office_code="GS-LZ-CG", subject_name="某物业公司",
                      subject_kind="enterprise", subject_org_code=None)
    escalated = act(client, aw, number, "escalate", "county", form={"note": "提请市办直办"})
    assert escalated.status_code == 200, escalated.text
    county = client.get(f"/api/cases/{number}", headers=aw.auth("county")).json()
    assert (county["office"]["code"], county["record_office"]["code"]) == ("GS-LZ-CG", "GS-LZ")
    assert county["read_only"] is True and county["allowed_actions"] == []
    city = client.get(f"/api/cases/{number}", headers=aw.auth("city")).json()
    assert city["read_only"] is False and city["record_office"]["name"] == "兰州市办"
    listed = client.get("/api/cases", headers=aw.auth("county")).json()["items"]
    assert number in {row["number"] for row in listed}
    before = aw.snapshot()
    refused = act(client, aw, number, "reassign", "county", form={"unit": "GS-LZ-CG-SWJ", "reason": "改派"})
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "case_held_elsewhere"
    assert "兰州市办" in body["message"] and body["message_zh"].startswith("该件现由兰州市办负责办理")
    assert aw.snapshot() == before
