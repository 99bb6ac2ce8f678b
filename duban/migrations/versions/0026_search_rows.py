"""search: one index row per text source instead of one document per case

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 03:00:00

The per-case documents were rebuilt whole on every report, review and callback, so each action
cost more as a case's history grew. The index now holds a row per source (the case's own texts,
each report, review and callback), written alone (models/search.py). Derived data: dropped and
rebuilt here from the source tables; the downgrade puts the per-case shape back the same way
(duban/migrations/search_0025.py).
"""

from __future__ import annotations

from alembic import op

from duban.migrations import search_0025 as before
from duban.models import search

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    before.uninstall(conn)
    search.install(conn, scoped=False, either=False, narrowed=False, children=False)
    search.rebuild(conn, scoped=False, narrowed=False)


def downgrade() -> None:
    conn = op.get_bind()
    search.uninstall(conn)
    before.install(conn)
    before.rebuild(conn)
