"""cases: the work-order index holds the lists' filters; PostgreSQL knows each org's share

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 12:10:00

A list in work order with a broad filter walked the order and read every case's row to test it:
the province's cases received since 2022 took 0.2 s at 1M cases, on either database, because the
open cases of 2021 come first. The index keeps its order and adds, after the unique id, the
columns the lists filter by (models/case.py WORK_ORDER_FILTERS), so a case the filter leaves out
is rejected in the index. Rebuilt here (seconds at a million cases); the downgrade puts the
order alone back. PostgreSQL keeps statistics of every org's share of the cases (the org columns'
statistics target, models/case.py ORG_STATISTICS): with the default it guessed a county's
offices at seven times their cases and planned its lists as though for a city.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models.case import WORK_ORDER_INDEX, org_statistics_ddl, work_order_ddl

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild(filters=True)


def downgrade() -> None:
    _rebuild(filters=False)


def _rebuild(*, filters: bool) -> None:
    conn = op.get_bind()
    conn.execute(text(f"DROP INDEX IF EXISTS {WORK_ORDER_INDEX}"))
    conn.execute(text(work_order_ddl(filters=filters)))
    if conn.dialect.name == "postgresql":
        conn.execute(text(org_statistics_ddl() if filters else org_statistics_ddl(-1)))
    conn.execute(text("ANALYZE cases"))
