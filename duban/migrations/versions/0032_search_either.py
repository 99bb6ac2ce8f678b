"""case_search (PostgreSQL): one index of either document instead of one of the raw document

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 15:00:00

A reader who may see identity searches both documents of a row, the redacted and the raw. With an
index of each, a word was looked up twice and the two lists joined: a common phrase's lookup cost
about 40 ms of a search at a million cases. The documents are now indexed once joined
(models/search.py EITHER_TEXT), trigrams and grams, in place of the raw document's indexes, which
nothing asks alone. The redacted document's keep serving every other reader. SQLite's index is
unchanged: FTS5 already answers "either column" in one lookup.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from duban.models import search

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _reindex(either=True)


def downgrade() -> None:
    _reindex(either=False)


def _reindex(*, either: bool) -> None:
    """The other shape's second document's indexes dropped, this shape's built (the redacted
    document's stay as they are)."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    gone = "raw_text" if either else "either_text"
    for name in (f"ix_{search.SEARCH_TABLE}_{gone}", f"ix_{search.SEARCH_TABLE}_{gone}_grams"):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    search.create_indexes(conn, either=either, children=False)
