"""search: each index row says whether its case has a deadline

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 15:30:00

A list of no colour searched for a common word found its total by reading the word's matches with
their deadlines and working each one's colour out on its calendar until ten thousand showed none:
the phrase in one case of four, 209 ms at the province of a million on PostgreSQL and 247 in its
biggest city, mostly cases late (out of the list) or with a deadline. A case without a deadline
shows no colour whatever the calendar says, and they are most of a common word's list: the index's
rows now carry, beside their other keys, the key of a case without one (duban.scopekeys.UNDATED)
or with one (DATED), and the list counts the first of the word's matches by their key and colours
only the second (duban.services.reading). The triggers rewrite a case's keys when a deadline
comes or goes (models/search.py). Derived data, worked out again here from the cases, and again
without the key on downgrade; on PostgreSQL every row is written again in its case's order and
the indexes are built once after. PostgreSQL's scope index (models/case.py) takes the deadlines
too: the list asks each match found whether it has none by that index alone.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models import search
from duban.models.case import SCOPE_INDEX, scope_ddl

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rekey(dated=True)


def downgrade() -> None:
    _rekey(dated=False)


def _rekey(*, dated: bool) -> None:
    conn = op.get_bind()
    search.rewrite_keys(conn, dated=dated, finished=False)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP INDEX IF EXISTS {SCOPE_INDEX}"))
        conn.execute(text(scope_ddl(dated=dated, placed=False)))
        if not dated:
            conn.execute(text(f"DROP FUNCTION IF EXISTS {search.SCOPE_FUNCTION}({search.PG_DATED_SIGNATURE})"))
