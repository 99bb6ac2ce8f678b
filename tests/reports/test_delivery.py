"""Last month's report goes to each office's leaders once, through the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.clock import SimulatedClock, parse_local
from duban.models import Notification
from duban.reports.delivery import queue_monthly_reports
from tests.reports import scenario


@pytest.fixture
def november(engine: Engine) -> scenario.November:
    return scenario.build(engine)


def _outbox(november: scenario.November) -> list[Notification]:
    with Session(november.ctx.engine) as session:
        return list(session.exec(select(Notification).where(Notification.kind == "monthly_report")))


def test_the_monthly_report_is_queued_once_to_the_configured_leaders(november: scenario.November) -> None:
    ctx = november.ctx
    assert isinstance(ctx.clock, SimulatedClock)
    ctx.policy.reports.recipients = {"GS-LZ": ["zuzhang@lz.example", "fuzuzhang@lz.example"]}
    ctx.clock.set(parse_local("2023-12-01 08:00"))
    first = queue_monthly_reports(ctx)
    assert first.period == "2023-11"
    # GS has no recipients configured: its own head_email; GS-LZ: the two leaders listed.
    assert set(first.offices) == {"GS", "GS-LZ"} and first.messages == 3
    again = queue_monthly_reports(ctx)
    assert again.messages == 0 and again.offices == []
    mails = {n.to_address: n for n in _outbox(november)}
    assert set(mails) == {"gs.head@duban.example", "zuzhang@lz.example", "fuzuzhang@lz.example"}
    mail = mails["zuzhang@lz.example"]
    assert mail.status == "pending" and mail.dedupe_key == "report:2023-11:GS-LZ:zuzhang@lz.example"
    assert "2023年11月" in mail.subject and "每月专报" in mail.subject
    assert "2023年11月，市县两级共受理社会监督意见6件" in mail.body
    assert "响应率：已响应件数 ÷ 已交办件数" in mail.body
    assert "19900123456" not in mail.body


def test_nothing_is_sent_before_the_sending_day(november: scenario.November) -> None:
    ctx = november.ctx
    assert isinstance(ctx.clock, SimulatedClock)
    ctx.policy.reports.monthly_day = 3
    ctx.clock.set(parse_local("2023-12-02 08:00"))
    assert queue_monthly_reports(ctx).messages == 0
    ctx.clock.set(parse_local("2023-12-04 08:00"))
    assert queue_monthly_reports(ctx).messages == 1
