"""The dashboard's grouped counts agree with counting case by case."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.deadlines import warning_colour
from duban.models import Case, Org
from duban.services.dashboard import dashboard
from duban.states.definition import FINAL_STATES
from tests.factories import LEADER, advance, registered, transferred, unit_actor, world


def test_grouped_counts_match_a_case_by_case_count(engine: Engine) -> None:
    ctx = world(engine, start="2023-09-01 10:00")
    for day in range(6):  # limits started on different days, at two units with their calendars
        transferred(ctx, unit="GS-LZ-CG-GOV" if day % 2 else "GS-LX-GOV", title=f"事项{day}")
        registered(ctx, title=f"待分办{day}", office_code="GS-LZ")
        advance(ctx, days=4)
    board = dashboard(ctx, LEADER)

    today, finals = ctx.today(), {s.value for s in FINAL_STATES}
    with Session(engine) as session:
        cases = session.exec(select(Case)).all()
        codes = {org.id: org.code for org in session.exec(select(Org))}
    colours = Counter(
        warning_colour(deadline_on=c.deadline_on, deadline_start=c.deadline_start, today=today,
                       calendar=ctx.calendar_for(codes[c.unit_id or c.office_id]), policy=ctx.policy)
        for c in cases if c.state not in finals)
    assert board.total == len(cases) == 12
    assert board.open == sum(colours.values())
    assert board.by_warning == dict(colours) and len(colours) > 1  # several colours, really
    assert board.by_state == dict(Counter(c.state for c in cases))
    assert board.by_level == dict(Counter(c.level for c in cases))
    assert board.overdue_count == colours["red"]

    unit = dashboard(ctx, unit_actor(ctx, "GS-LX-GOV"))
    assert unit.total == 3 and unit.by_state == {"transferred": 3}
