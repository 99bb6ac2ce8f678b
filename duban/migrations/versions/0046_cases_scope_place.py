"""cases (PostgreSQL): the scope index holds each case's place in the work order

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07 23:55:00

A search whose matches are all found read its page by sorting them, each one's case row fetched
for its place in the work order: 8,070 cases of the biggest city's list of no colour with 噪音,
30 ms at a million. Each match is already asked of the list by the scope index alone
(ix_cases_scope, migration 0033); with the priority rank there as well (the deadline is since
0043), the same question brings its place (duban.services.search.work_order_key), and with the
deadline's start the colour a match shows is worked out from that index too.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models.case import SCOPE_INDEX, scope_ddl

revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild(placed=True)


def downgrade() -> None:
    _rebuild(placed=False)


def _rebuild(*, placed: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP INDEX IF EXISTS {SCOPE_INDEX}"))
        conn.execute(text(scope_ddl(placed=placed)))
