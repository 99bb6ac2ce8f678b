"""search: the per-case text index (FTS5 trigram / pg_trgm) and saved filters

Revision ID: 0020
Revises: 0023
Create Date: 2026-12-04 22:40:00

The index (models/search.py) is derived: it is built here from the cases already stored and kept
current by triggers from then on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import duban.models.base
from duban.migrations import search_0025 as search

revision = '0020'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saved_filters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('created_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'name')
    )
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_filters_user_id'), ['user_id'], unique=False)
    conn = op.get_bind()
    search.install(conn)
    search.rebuild(conn)


def downgrade() -> None:
    search.uninstall(op.get_bind())
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_filters_user_id'))
    op.drop_table('saved_filters')
