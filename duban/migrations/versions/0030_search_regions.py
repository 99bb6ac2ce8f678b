"""search: each index row carries the regions its case lies in

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 12:00:00

A city's reader searching a common word read every match in the province and asked each of the
city (a city's 水: 0.8 s on PostgreSQL, 0.15 s on SQLite at 1M cases). Each index row now carries
its case's regions (duban.scopekeys: every dash-prefix of its office's and its unit's codes) and
the index answers "this word, in this region" from both at once: SQLite a `scope` column of the
grams' FTS5 table, PostgreSQL a `scope` column beside the grams in one GIN index. Triggers keep
them current when a case moves (models/search.py). Derived data: the index is rebuilt here from
its source tables, and again without the regions on downgrade.
"""

from __future__ import annotations

from alembic import op

from duban.models import search

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    search.uninstall(conn)
    search.install(conn, either=False, keyed=False, narrowed=False, children=False)
    search.rebuild(conn, keyed=False, narrowed=False)


def downgrade() -> None:
    conn = op.get_bind()
    search.uninstall(conn)
    search.install(conn, scoped=False, either=False, narrowed=False, children=False)
    search.rebuild(conn, scoped=False, narrowed=False)
