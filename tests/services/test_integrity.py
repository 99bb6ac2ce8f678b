"""The audit trail is append-only, chained, verifiable, and survives backup and restore."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from duban.services import CaseService, ServiceContext
from duban.services.backup import backup, restore
from duban.services.integrity import verify_audit
from tests.factories import SUPERVISOR, transferred, unit_actor, world


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    ctx = world(engine)
    for i in range(3):
        number = transferred(ctx, title=f"事项{i}")
        CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                             form={"text": "报告"})
    return ctx


def _disable_guard(engine: Engine) -> None:
    """What someone with raw database access would do first."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'changed' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 3",
])
def test_the_database_refuses_to_change_or_delete_an_audit_event(ctx: ServiceContext, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
        conn.execute(text(statement))


def test_an_intact_trail_verifies(ctx: ServiceContext) -> None:
    cases, events, broken = verify_audit(ctx)
    assert (cases, events, broken) == (3, 9, [])


def test_verify_names_the_first_altered_event(ctx: ServiceContext) -> None:
    _disable_guard(ctx.engine)
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET reason = '篡改' WHERE case_id = 2 AND seq = 2"))
    _, _, broken = verify_audit(ctx)
    assert broken[0].case_number == "GS-2023-00002"
    assert broken[0].problem == "event 2 (transfer) was altered"


def test_verify_notices_a_missing_event_even_the_last(ctx: ServiceContext) -> None:
    _disable_guard(ctx.engine)
    with ctx.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE case_id = 1 AND seq = 2"))
        conn.execute(text("DELETE FROM audit_events WHERE case_id = 3 AND seq = 3"))
    _, _, broken = verify_audit(ctx, stop_at_first=False)
    assert [(b.case_number, b.problem) for b in broken] == [
        ("GS-2023-00001", "event 2 is missing (found 3)"),
        ("GS-2023-00003", "events after 2 are missing (case has 3)"),
    ]


def test_a_restored_backup_has_the_state_and_trail_of_its_moment(ctx: ServiceContext, tmp_path: Path) -> None:
    if ctx.engine.dialect.name == "postgresql" and not __import__("shutil").which("pg_dump"):
        pytest.fail("pg_dump is needed for PostgreSQL backups (scripts/pg installs it)")
    target = backup(ctx.engine, tmp_path / "duban.backup")
    CaseService(ctx).act("GS-2023-00001", "approve", actor=SUPERVISOR)
    assert CaseService(ctx).get("GS-2023-00001").state == "verified"
    ctx.engine.dispose()
    restore(ctx.engine.url.render_as_string(hide_password=False), target)
    assert CaseService(ctx).get("GS-2023-00001").state == "reported"
    assert verify_audit(ctx) == (3, 9, [])
