"""cases: an index in work order

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 03:00:00

Lists in work order (open first, priority, deadline, those without one last) and searches for a
common word read the first cases in this order instead of sorting every match
(duban.services.search.order_by, duban.services.reading). On expressions, so it is kept beside the
models (models/case.py), as the search index is. SQLite only (see there).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models.case import WORK_ORDER_INDEX, work_order_ddl

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.execute(text(work_order_ddl(filters=False)))
        conn.execute(text("ANALYZE cases"))


def downgrade() -> None:
    op.get_bind().execute(text(f"DROP INDEX IF EXISTS {WORK_ORDER_INDEX}"))
