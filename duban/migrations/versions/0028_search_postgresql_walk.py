"""search on PostgreSQL: grams by a loop, and the work-order index

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 05:30:00

PostgreSQL's grams function (models/search.py) becomes a PL/pgSQL loop over the characters: the
same grams, about ten times cheaper on every write of an index row, and declared costly so the
planner looks a word up in its GIN index rather than computing every row's grams. It returns the
same set of keys, so the GIN indexes over it stay valid. The work-order index, until now made on
SQLite only, is made on PostgreSQL too: a search for a common word there now walks the cases in
work order as well (duban.services.search.text_probe).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.migrations import search_0025
from duban.models.case import WORK_ORDER_INDEX, work_order_ddl

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

# As models/search.py has it at this revision (migrations replay as they were).
_GRAMS_LOOP = ("CREATE OR REPLACE FUNCTION case_search_grams(t text) RETURNS text[] LANGUAGE plpgsql "
               "IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$ DECLARE one text[] := "
               "string_to_array(lower(t), NULL); out text[] := one; BEGIN FOR i IN 1 .. cardinality(one) - 1 "
               "LOOP out := out || (one[i] || one[i + 1]); END LOOP; RETURN out; END $$")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text(_GRAMS_LOOP))
    conn.execute(text(work_order_ddl(filters=False)))
    conn.execute(text("ANALYZE cases"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text(search_0025._PG_GRAMS))
    conn.execute(text("ALTER FUNCTION case_search_grams(text) COST 100"))
    conn.execute(text(f"DROP INDEX IF EXISTS {WORK_ORDER_INDEX}"))
