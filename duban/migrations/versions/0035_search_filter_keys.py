"""search: each index row carries its case's category, channel and month of receipt

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 18:00:00

A common word within a broad filter read the word's matches through the whole scope and asked
each whether its case was in the filter: 水 among the province's water cases read about 90,000
matches (0.3 s on PostgreSQL, 0.12 s on SQLite at a million cases). The index's rows now carry,
beside their case's regions (0030), its category's, channel's and month's keys
(duban.scopekeys), and the index answers "this word, in this category" from both at once, as it
answers a region. Triggers keep them current when one of those columns changes
(models/search.py). Derived data: the keys are worked out again here from the cases, and again
without them on downgrade; on PostgreSQL the grams' indexes are dropped first and built once
after.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models import search

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rekey(keyed=True)


def downgrade() -> None:
    _rekey(keyed=False)


def _rekey(*, keyed: bool) -> None:
    conn = op.get_bind()
    search.drop_triggers(conn)
    if conn.dialect.name == "postgresql":
        search.create_scope_functions(conn, keyed=True, dated=False)  # the triggers' and the rekey's
        for name in ("open_text", "either_text"):  # the grams' indexes: the scope column is in them
            conn.execute(text(f"DROP INDEX IF EXISTS ix_{search.SEARCH_TABLE}_{name}_grams"))
    search.rekey(conn, keyed=keyed, dated=False)
    if conn.dialect.name == "postgresql":
        search.create_indexes(conn, children=False)
        if not keyed:
            conn.execute(text(f"DROP FUNCTION IF EXISTS {search.SCOPE_FUNCTION}"
                              "(integer, integer, text, text, timestamptz)"))
    search.create_triggers(conn, keyed=keyed, narrowed=False, dated=False)
