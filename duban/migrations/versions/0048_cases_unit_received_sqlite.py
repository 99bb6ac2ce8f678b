"""cases (SQLite): a unit's cases by their time of receipt, as PostgreSQL has them since 0044

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-08 02:20:00

SQLite's planner guesses a range of days to hold one case in 64 (it keeps no histogram): a small
city's list of half a year (its ten offices and ten units, 3,447 cases of a million) was read by
the receipts' index, 166,000 cases each tested for the region, 68 ms for the count and as much for
the page. With the units' twin of ix_cases_office_received it reads the region's offices' and
units' cases of those days from the two (14 ms and 12).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models.case import UNIT_RECEIVED_DDL, UNIT_RECEIVED_INDEX

revision = '0048'
down_revision = '0047'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.execute(text(UNIT_RECEIVED_DDL))
        conn.execute(text(f"ANALYZE {UNIT_RECEIVED_INDEX}"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP INDEX IF EXISTS {UNIT_RECEIVED_INDEX}"))
