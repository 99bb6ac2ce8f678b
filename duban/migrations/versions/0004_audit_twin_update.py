"""audit events: only reason_redacted may be updated

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 09:40:00

The redacted twin of an audit event's reason is recomputed when the redaction rules change
(`duban privacy redact`, and `duban db upgrade` past 0003 fills the empty twins). The append-only
triggers now let an UPDATE through that changes reason_redacted alone; any other change, and any
DELETE, still fails. reason_redacted is not part of the hash chain.

SQLite: the UPDATE trigger fires on `UPDATE OF` every other column. PostgreSQL: the trigger
function passes the row when everything but reason_redacted is unchanged (the trigger itself
is unchanged). The same statements are in duban/models/audit.py (APPEND_ONLY_DDL).
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_RAISE = "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
FROZEN_COLUMNS = ("id", "case_id", "seq", "at", "actor", "actor_role", "action", "from_state",
                  "to_state", "reason", "data", "prev_hash", "hash")

SQLITE_UPDATE_TRIGGER = (f"CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE OF "
                         f"{', '.join(FROZEN_COLUMNS)} ON audit_events {_RAISE}")
SQLITE_OLD_UPDATE_TRIGGER = f"CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events {_RAISE}"
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
    "BEGIN IF TG_OP = 'UPDATE' AND "
    "(to_jsonb(NEW) - 'reason_redacted') = (to_jsonb(OLD) - 'reason_redacted') THEN RETURN NEW; "
    "END IF; RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql")
PG_OLD_FUNCTION = ("CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(SQLITE_UPDATE_TRIGGER)
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(SQLITE_OLD_UPDATE_TRIGGER)
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(PG_OLD_FUNCTION)
