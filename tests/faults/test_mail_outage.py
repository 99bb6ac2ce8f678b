"""A bad week for the mail server, end to end: down for a stretch, then slow, then refusing some
recipients. Every message that can be delivered is delivered (once; the one exception is SMTP's
own window, a message the server accepted after we had given up on it, which comes again with
the same Message-ID), and every message that can never be delivered is `failed`, with the
server's answer, in front of the office: the API's failed list and the dashboard. Units see none
of it."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.models import Notification
from duban.notify.deliver import SmtpConfig, deliver_pending
from duban.services import CaseService
from duban.services.sweeps import run_deadline_sweep
from tests.appworld import PASSWORD, AppWorld, LiveServer, app_for, live_client, make_world
from tests.factories import transferred, unit_actor
from tests.faults import figures
from tests.notify.conftest import SmtpServer, free_port

REFUSED = "gs-lz-cg-gov.head@duban.example"  # the county government's leader: mailbox gone


def _rows(aw: AppWorld) -> list[Notification]:
    """The e-mail (the complainants' SMS go to the gateway: tests/notify/test_citizen_notices.py)."""
    with Session(aw.ctx.engine) as session:
        return list(session.scalars(select(Notification).where(Notification.channel == "email")
                                    .order_by(Notification.id)))


def _later(aw: AppWorld, **delta: float) -> None:
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(dt.timedelta(**delta))


def _sweep_on(aw: AppWorld, day: str) -> None:
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(parse_local(f"{day} 08:30"))
    run_deadline_sweep(aw.ctx)


def _deliver_until_quiet(aw: AppWorld, smtp: SmtpConfig, *, rounds: int = 30) -> None:
    """What the scheduler does every minute, until nothing is left to send."""
    for _ in range(rounds):
        if not any(r.status in ("pending", "sending") for r in _rows(aw)):
            return
        deliver_pending(aw.ctx, smtp)
        _later(aw, minutes=10)  # past any backoff so far
    raise AssertionError(f"mail still waiting: {Counter(r.status for r in _rows(aw))}")


def test_down_then_slow_then_refusing_delivers_what_it_can_and_shows_the_rest(engine: Engine) -> None:
    aw = make_world(engine, start="2023-03-01 10:00")
    for unit in ("GS-LZ-CG-SWJ", "GS-LZ-CG-GOV", "GS-LZ-CG-ZJJ"):
        number = transferred(aw.ctx, unit=unit, title=f"{unit}承办的反映：工程款拖欠", subject_org_code=None)
        # Units sign for their cases (an office that took one over by avoidance need not): the
        # mail below is the ladder's only.
        service = CaseService(aw.ctx)
        case = service.get(number)
        holder = unit_actor(aw.ctx, aw.ctx.orgs.by_id(case.unit_id).code)
        if "sign_for" in service.allowed_actions(case, holder):
            service.act(number, "sign_for", actor=holder)
    server = SmtpServer(free_port())
    smtp = SmtpConfig(host="127.0.0.1", port=server.port, sender="duban@gs.example", timeout=0.5)
    try:
        # 1. Down: the first reminders wait, with growing backoff, and are never dropped.
        _sweep_on(aw, "2023-03-09")
        waiting = _rows(aw)
        assert len(waiting) == 3 and {r.kind for r in waiting} == {"remind"}
        for attempt in (1, 2, 3):
            result = deliver_pending(aw.ctx, smtp)
            assert (result.sent, result.failed, result.retried) == (0, 0, 3)
            assert {(r.status, r.attempts) for r in _rows(aw)} == {("pending", attempt)}
            _later(aw, seconds=60 * 2 ** attempt + 1)
        # 2. Up but slow: the first recipient command hangs past our timeout, and a message's data
        # is accepted only after we gave up on it (SMTP's window: it will come twice, same id).
        server.start()
        server.mailbox.stall_rcpt = [1.0]
        server.mailbox.stall_data = [0, 1.0]
        _deliver_until_quiet(aw, smtp)
        assert {r.status for r in _rows(aw)} == {"sent"}
        # 3. Refusing: the ladder climbs, and the county leader's mailbox no longer exists.
        server.mailbox.refuse = {REFUSED}
        _sweep_on(aw, "2023-03-13")  # 抄告 to the same-level government
        _sweep_on(aw, "2023-03-15")  # 重要工作提示 to each unit's head
        _deliver_until_quiet(aw, smtp)
    finally:
        server.stop()

    rows = _rows(aw)
    received = Counter(server.mailbox.message_ids())
    failed = [r for r in rows if r.status == "failed"]
    sent = [r for r in rows if r.status == "sent"]
    assert len(rows) == len(sent) + len(failed)  # nothing pending, nothing lost
    assert failed and {r.to_address for r in failed} == {REFUSED}
    assert all(r.last_error.startswith(f"{REFUSED}: 550") for r in failed)
    assert not any(received[r.message_id] for r in failed)  # never accepted, never retried
    assert all(received[r.message_id] >= 1 for r in sent)  # every deliverable message arrived
    twice = [r for r in sent if received[r.message_id] > 1]
    assert len(twice) <= 1 and all(received[r.message_id] == 2 and r.attempts >= 2 for r in twice)
    assert set(received) == {r.message_id for r in sent}

    # The office sees what failed and why; a unit sees nothing of the outbox.
    aw.advance(seconds=1)  # tokens anew: two weeks of simulated time have passed since they were issued
    with LiveServer(app_for(aw)) as site, live_client(base_url=site) as http:
        listed = http.get("/api/notifications?status=failed", headers=aw.auth("supervisor")).json()
        refused_to_unit = http.get("/api/notifications?status=failed", headers=aw.auth("unit"))
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', http.get("/login").text)
        assert csrf is not None
        http.post("/login", data={"username": "dispatcher", "password": PASSWORD, "csrf": csrf.group(1)})
        dashboard = http.get("/dashboard").text
    assert sorted(r["id"] for r in listed) == sorted(r.id for r in failed)
    assert all(r["last_error"].startswith(f"{REFUSED}: 550") and r["case_number"] for r in listed)
    assert refused_to_unit.status_code == 403
    assert f"发送失败的邮件（{len(failed)}封）" in dashboard and REFUSED in dashboard

    figures.note(f"mail outage ({engine.dialect.name}): {len(rows)} messages through down → slow → refusing: "
                 f"{len(sent)} delivered ({len(twice)} twice, in SMTP's accepted-after-timeout window), "
                 f"{len(failed)} refused for good, listed for the office")
