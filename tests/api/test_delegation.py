"""二次交办 over the API: the government picks a department, which reports through the government."""

from __future__ import annotations

import httpx

from duban.services.users import create_user, issue_token
from tests.api.test_cases import act, transferred
from tests.appworld import PASSWORD, AppWorld
from tests.factories import REPORTED

# "unit" is 城关区人民政府, "other-unit" its 水务局; the complaint is about its 住建局.


def _zjj(aw: AppWorld) -> dict[str, str]:
    """A user of the department the case complains about (another department of the county)."""
    user = create_user(aw.ctx, username="zjj", password=PASSWORD, role="unit", org_code="GS-LZ-CG-ZJJ",
                       display_name="住建局用户")
    return {"Authorization": f"Bearer {issue_token(aw.ctx, user)[0]}"}


def test_the_government_picks_one_of_its_departments_and_the_department_reports_through_it(
        aw: AppWorld, client: httpx.Client) -> None:
    number = transferred(client, aw)
    page = client.get(f"/api/cases/{number}", headers=aw.auth("unit")).json()
    assert {c["code"]: c["avoided"] for c in page["delegate_choices"]} == {
        "GS-LZ-CG-SWJ": False, "GS-LZ-CG-ZJJ": True}
    form = next(a for a in page["allowed_actions"] if a["action"] == "delegate")
    assert [(f["name"], f["type"], f["required"]) for f in form["fields"]] == [
        ("department", "department", True), ("note", "textarea", False)]

    refused = act(client, aw, number, "delegate", "unit", form={"department": "GS-LZ-CG-ZJJ"})
    assert refused.status_code == 422 and refused.json()["field"] == "department"
    assert refused.json()["message_zh"]
    done = act(client, aw, number, "delegate", "unit", form={"department": "GS-LZ-CG-SWJ"})
    assert done.status_code == 200, done.text
    assert done.json()["unit"]["code"] == "GS-LZ-CG-GOV"

    seen = client.get(f"/api/cases/{number}", headers=aw.auth("other-unit"))
    assert seen.status_code == 200 and seen.json()["delegate"]["code"] == "GS-LZ-CG-SWJ"
    assert seen.json()["complainant"]["visible"] is False  # no consent: the department reads it masked
    listed = client.get("/api/cases", headers=aw.auth("other-unit")).json()["items"]
    assert [r["number"] for r in listed] == [number]
    outsider = _zjj(aw)
    assert client.get(f"/api/cases/{number}", headers=outsider).status_code == 404
    assert client.post(f"/api/cases/{number}/actions/submit_report", headers=outsider,
                       json={"form": {"text": "越权"}}).status_code == 404

    assert act(client, aw, number, "submit_report", "unit",
               form={**REPORTED, "text": "政府代报"}).status_code == 403
    reported = act(client, aw, number, "submit_report", "other-unit", form={**REPORTED, "text": "已恢复供水"})
    assert reported.status_code == 200 and reported.json()["case"]["state"] == "transferred"
    pending = client.get(f"/api/cases/{number}", headers=aw.auth("unit")).json()
    assert pending["delegate_report_pending"] is True
    assert {a["action"] for a in pending["allowed_actions"]} >= {"forward_report", "return_delegate_report"}
    returned = act(client, aw, number, "return_delegate_report", "unit", form={})
    assert returned.status_code == 422 and returned.json()["field"] == "reasons"
    forwarded = act(client, aw, number, "forward_report", "unit", form={"note": "属实"})
    assert forwarded.status_code == 200 and forwarded.json()["case"]["state"] == "reported"
    approved = act(client, aw, number, "approve", "supervisor", form={})
    assert approved.status_code == 200 and approved.json()["case"]["state"] == "verified"
