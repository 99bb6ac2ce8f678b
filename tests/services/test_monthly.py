"""The monthly cycle: offices reminded of units' task reports before the 25th, once a month."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.models import Notification
from duban.services import ServiceContext
from duban.services.monthly import run_monthly_cycle
from tests.factories import world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 09:00")


def at(ctx: ServiceContext, when: str) -> None:
    assert isinstance(ctx.clock, SimulatedClock)
    ctx.clock.set(parse_local(when))


def reminders(ctx: ServiceContext) -> list[Notification]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Notification).where(Notification.kind == "monthly_reminder")))


def test_offices_are_reminded_three_working_days_before_the_25th_once(ctx: ServiceContext) -> None:
    at(ctx, "2023-03-21 09:00")
    assert run_monthly_cycle(ctx).reminders == 0
    at(ctx, "2023-03-22 09:00")  # 22, 23, 24: three working days left before the 25th
    result = run_monthly_cycle(ctx)
    assert result.reminders == 4  # GS, GS-LZ, GS-LZ-CG, GS-LX (every office)
    at(ctx, "2023-03-23 09:00")
    assert run_monthly_cycle(ctx).reminders == 0
    sent = reminders(ctx)
    assert {n.dedupe_key for n in sent} == {"monthly:2023-03:GS", "monthly:2023-03:GS-LZ",
                                            "monthly:2023-03:GS-LZ-CG", "monthly:2023-03:GS-LX"}
    lz = next(n for n in sent if n.dedupe_key == "monthly:2023-03:GS-LZ")
    assert lz.subject == "【提醒】2023年3月月度任务进展请于2023-03-25前报送"
    assert lz.to_address == "gs-lz@duban.example"
    assert next(n for n in sent if n.dedupe_key.endswith("GS-LX")).status == "failed"  # no address


def test_the_reminder_day_counts_working_days_on_the_official_calendar(ctx: ServiceContext) -> None:
    # June 2023: 端午 is the 22nd–24th, so the three working days before the 25th are 19–21.
    at(ctx, "2023-06-19 09:00")
    result = run_monthly_cycle(ctx)
    assert result.remind_from.isoformat() == "2023-06-19" and result.reminders == 4


def test_nothing_after_the_due_day(ctx: ServiceContext) -> None:
    at(ctx, "2023-03-27 09:00")
    assert run_monthly_cycle(ctx).reminders == 0
