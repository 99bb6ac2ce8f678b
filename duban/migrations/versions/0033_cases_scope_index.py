"""cases (PostgreSQL): an index of each case's id beside the columns its scopes and filters ask

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 15:40:00

A search's count asks, of every case the text index finds, whether it is in the reader's scope,
one case at a time by its id. Read from the case's row, that was about half the cost of counting
a common word in a city at a million cases. With the id, the scope's columns and the list
filters' in one index (models/case.py SCOPE_INDEX) the question reads that index alone. SQLite
reaches a row by its rowid directly: nothing changes there.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models.case import SCOPE_INDEX, scope_ddl

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(text(scope_ddl(dated=False, placed=False)))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP INDEX IF EXISTS {SCOPE_INDEX}"))
