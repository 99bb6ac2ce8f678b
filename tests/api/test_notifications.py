"""Mail the server refused for good is shown to the office (API and dashboard), never to units."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session

from duban.models import Notification
from duban.services.outbox import new_message_id
from tests.appworld import PASSWORD, AppWorld, LiveServer, app_for, live_client
from tests.factories import org_id, transferred


def _mail(aw: AppWorld, *, case_id: int | None, org: str, status: str, to: str) -> None:
    now = aw.ctx.now()
    with Session(aw.ctx.engine) as session:
        session.add(Notification(case_id=case_id, kind="remind", audience="unit",
                                 org_id=org_id(aw.ctx, org), to_address=to, subject=f"【催办】{to}",
                                 body="正文", message_id=new_message_id(),
                                 status=status, attempts=1, next_attempt_at=now, created_at=now,
                                 last_error="550 5.1.1 mailbox unavailable" if status == "failed" else ""))
        session.commit()


def _seed(aw: AppWorld) -> None:
    transferred(aw.ctx, unit="GS-LZ-CG-GOV")  # case 1: in 城关区
    transferred(aw.ctx, unit="GS-FGW", subject_org_code=None, title="省级项目审批久拖不办")  # case 2
    _mail(aw, case_id=1, org="GS-LZ-CG-GOV", status="failed", to="gone@cg.example")
    _mail(aw, case_id=1, org="GS-LZ-CG-GOV", status="sent", to="ok@cg.example")
    _mail(aw, case_id=2, org="GS-FGW", status="failed", to="gone@fgw.example")
    _mail(aw, case_id=None, org="GS-LZ-CG", status="failed", to="monthly@cg.example")


def _addresses(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["to_address"] for row in answer.json()]


def test_the_office_lists_failed_mail_in_its_region(aw: AppWorld, client: httpx.Client) -> None:
    _seed(aw)
    province = client.get("/api/notifications?status=failed", headers=aw.auth("supervisor"))
    assert _addresses(province) == ["monthly@cg.example", "gone@fgw.example", "gone@cg.example"]
    row = province.json()[2]
    assert row["case_number"] == "GS-2023-00001" and row["status"] == "failed"
    assert row["last_error"].startswith("550") and row["recipient"] == "城关区人民政府"
    county = client.get("/api/notifications?status=failed", headers=aw.auth("county"))
    assert _addresses(county) == ["monthly@cg.example", "gone@cg.example"]
    everything = client.get("/api/notifications", headers=aw.auth("admin")).json()
    assert len(everything) == 6  # the four above, and each complainant's 受理告知 by SMS
    assert [r["to_address"] for r in everything if r["audience"] == "complainant"] == ["（保密）"] * 2


def test_units_leaders_and_strangers_do_not_read_the_outbox(aw: AppWorld, client: httpx.Client) -> None:
    _seed(aw)
    for who in ("unit", "leader"):
        answer = client.get("/api/notifications?status=failed", headers=aw.auth(who))
        assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert client.get("/api/notifications").status_code == 401
    assert client.get("/api/notifications?status=lost", headers=aw.auth("admin")).json()["field"] == "status"


def test_the_dashboard_shows_the_office_its_failed_mail_and_a_unit_nothing_of_it(aw: AppWorld) -> None:
    _seed(aw)
    pages = {}
    with LiveServer(app_for(aw)) as site:
        for who in ("dispatcher", "unit"):
            with live_client(base_url=site) as browser:
                csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', browser.get("/login").text)
                assert csrf is not None
                browser.post("/login", data={"username": who, "password": PASSWORD, "csrf": csrf.group(1)})
                pages[who] = browser.get("/dashboard")
    office, unit = pages["dispatcher"], pages["unit"]
    assert office.status_code == unit.status_code == 200
    assert "发送失败的邮件（3封）" in office.text and "gone@fgw.example" in office.text
    assert "发送失败的邮件" not in unit.text and "gone@cg.example" not in unit.text
