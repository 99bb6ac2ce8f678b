"""search: a batch of new cases may index them at once instead of a trigger per case

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 05:00:00

The ledger import writes a batch's cases and then their index rows by one INSERT … SELECT in the
same transaction (models/search.py `new_cases_indexed`); the trigger of a new case skips the
row while that transaction says so (PostgreSQL: a setting local to it; SQLite: a flag of the
connection, read through the SQL function duban.db registers). Only the triggers change: the
index rows stay as they are.
"""

from __future__ import annotations

from alembic import op

from duban.models import search

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    search.drop_triggers(conn)
    search.create_triggers(conn, scoped=False, narrowed=False)


def downgrade() -> None:
    conn = op.get_bind()
    search.drop_triggers(conn)
    search.create_triggers(conn, deferrable=False, scoped=False, narrowed=False)
