"""search: the index holds full-width letters, digits and joiners as half-width, invisible ones left out

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 23:30:00

People type ＱＱ, １３８ and ＧＳ－２０２３－００００１ in full-width as often as in half-width, in
the search box and in the texts they write; a query is read with full-width ASCII as half-width
(duban.services.search.words), and the index now holds its documents so too (duban.grams.WIDE;
the punctuation Chinese texts write full-width themselves, such as （）：，, is kept): either width
finds the other. And the invisible characters a paste from a web page or a chat brings inside
words (zero-width space, byte-order mark, soft hyphen: grams.INVISIBLE) are left out of both: 供暖
finds 供, U+200B, 暖. The triggers write the documents narrowed (SQLite through the SQL function
`duban_narrow`, PostgreSQL by translate()), and the rows stored before that hold one of those
characters are narrowed here, they alone (SQLite: with their grams). Downgrade: the triggers as
before and every row written again as its texts are.
"""

from __future__ import annotations

from alembic import op

from duban.models import search

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    search.drop_triggers(conn)
    search.create_triggers(conn, dated=False)
    search.narrow_rows(conn, dated=False)


def downgrade() -> None:
    conn = op.get_bind()
    search.drop_triggers(conn)
    search.create_triggers(conn, narrowed=False, dated=False)
    search.rebuild(conn, narrowed=False, dated=False)
