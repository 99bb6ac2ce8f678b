"""search: an index of 1- and 2-character grams beside the trigram one

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 02:00:00

Queries shorter than a trigram (水, 噪音) read this index instead of every document
(models/search.py, duban/grams.py). Derived data: built here from the stored documents.
"""

from __future__ import annotations

from alembic import op

from duban.migrations import search_0025 as search

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    search.install_grams(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    search.uninstall_grams(conn)
