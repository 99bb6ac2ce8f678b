"""search: each index row says whether its case is finished

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-08 02:00:00

A list of one state searched for a common word read the word's matches of every state and asked
each one's case of the list until ten thousand were in it: the province's transferred cases with
噪音 kept two rows in five, about 25,000 rows read at 3.5 µs each on PostgreSQL at a million.
The index's rows now carry, beside their other keys, the key of a finished case (closed or not
accepted: duban.scopekeys.FINISHED) or of an open one (OPEN), and a list of one state, or of the
open cases, asks the index for its side's rows only (duban.services.search.index_keys). The
triggers rewrite a case's keys when it is finished or opened again, which also ends or starts a
time limit and so rewrote them already (0043's key). Derived data, worked out again here from the
cases, and again without the key on downgrade; on PostgreSQL every row is written again in its
case's order and the indexes are built once after (as 0043 does).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models import search

revision = '0047'
down_revision = '0046'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rekey(finished=True)


def downgrade() -> None:
    _rekey(finished=False)


def _rekey(*, finished: bool) -> None:
    conn = op.get_bind()
    search.rewrite_keys(conn, finished=finished)
    if conn.dialect.name == "postgresql" and not finished:
        conn.execute(text(f"DROP FUNCTION IF EXISTS {search.SCOPE_FUNCTION}({search.PG_FINISHED_SIGNATURE})"))
