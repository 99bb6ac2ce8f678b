"""A calendar published after deadlines were set moves them, and says by how much."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.models import AuditEvent
from duban.services import CaseService
from duban.services.integrity import verify_audit
from duban.services.recompute import apply_moved, find_moved
from duban.workcal import load_calendar_book
from tests.factories import transferred, world


def test_publishing_next_years_schedule_moves_provisional_deadlines(engine: Engine, tmp_path: Path) -> None:
    ctx = world(engine, start="2026-12-28 10:00")
    number = transferred(ctx, priority="normal")  # 15 working days: into 2027, provisional
    before = CaseService(ctx).get(number)
    assert before.deadline_provisional
    assert before.deadline_on == dt.date(2027, 1, 18)
    assert find_moved(ctx) == []

    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2027.toml").write_text(
        'year = 2027\n[[holidays]]\nname = "元旦"\nstart = 2027-01-01\nend = 2027-01-03\n', encoding="utf-8")
    ctx.calendars = load_calendar_book(tmp_path)
    moved = find_moved(ctx)
    assert [(m.number, m.old, m.new, m.delta_days) for m in moved] == [
        (number, dt.date(2027, 1, 18), dt.date(2027, 1, 19), 1)]
    assert moved[0].provisional_before and not moved[0].provisional_after

    apply_moved(ctx, moved)
    after = CaseService(ctx).get(number)
    assert (after.deadline_on, after.deadline_provisional) == (dt.date(2027, 1, 19), False)
    assert after.version == before.version + 1
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "recompute_deadline")).one()
    assert event.data == {"from": "2027-01-18", "to": "2027-01-19", "provisional": False}
    assert find_moved(ctx) == []
    assert verify_audit(ctx)[2] == []  # the bulk path extends the hash chain like an action does
