"""keyed audit chain: MAC algorithm, key id, facts and rows on each event; append-only for real

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:40:00

Each audit event records the algorithm and key of its MAC, the case's facts after the action and
the rows the action wrote (duban.services.audit). SQLite also refuses an INSERT that would replace
an event (INSERT OR REPLACE deletes without firing DELETE triggers); PostgreSQL's application role
duban_app gets no UPDATE, DELETE or TRUNCATE on audit_events (models/audit.py APP_ROLE_GRANTS).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from duban.models.audit import APP_ROLE, APP_ROLE_GRANTS, APPEND_ONLY_DDL

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# 0004's UPDATE trigger, for the downgrade (the columns it froze before this revision).
SQLITE_UPDATE_TRIGGER_0004 = (
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE OF id, case_id, seq, at, "
    "actor, actor_role, action, from_state, to_state, reason, data, prev_hash, hash ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
COLUMNS = [("alg", sa.String(length=8)), ("key_id", sa.String(length=16)), ("facts", sa.Text()),
           ("rows", sa.Text())]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # batch_alter_table rebuilds the table on SQLite and would drop its triggers: add columns
        # in place (SQLite's ADD COLUMN keeps the table and its triggers).
        for name, type_ in COLUMNS:
            op.add_column("audit_events", sa.Column(name, type_, nullable=False, server_default=""))
        # 0004's UPDATE trigger names the columns it freezes: made anew with the new ones.
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        for statement in APPEND_ONLY_DDL["sqlite"]:
            op.execute(statement)
        return
    for name, type_ in COLUMNS:
        op.add_column("audit_events", sa.Column(name, type_, nullable=False, server_default=""))
    for statement in APP_ROLE_GRANTS:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(SQLITE_UPDATE_TRIGGER_0004)
    else:
        op.execute(f"""DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        GRANT UPDATE, DELETE, TRUNCATE ON audit_events TO {APP_ROLE};
    END IF;
END $$""")
    for name, _ in reversed(COLUMNS):
        op.drop_column("audit_events", name)
