"""cases (PostgreSQL): a unit's cases by their time of receipt

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07 18:10:00

A region's list of a date range (a county's cases since June) was planned by walking every case
received since that day and testing each for the region: 3,577 of a million found among 200,000
read, 90–130 ms. With the units' twin of ix_cases_office_received, PostgreSQL reads the region's
offices' and units' cases of those days from the two (44 ms). SQLite already plans those lists by
the region's org indexes: unchanged.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models.case import UNIT_RECEIVED_DDL, UNIT_RECEIVED_INDEX

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(text(UNIT_RECEIVED_DDL))
        conn.execute(text("ANALYZE cases"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP INDEX IF EXISTS {UNIT_RECEIVED_INDEX}"))
