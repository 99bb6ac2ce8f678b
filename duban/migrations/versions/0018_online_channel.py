"""the online channel: query codes, ratings of the reply, public abuse counters

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-04 18:50:00

A complaint filed on the public pages gets a query code, kept only as a hash (query_codes); the
complainant rates the reply once (reply_ratings, covered by its audit event); the public pages
count requests per client address in the database (public_hits), so every worker shares the
window.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('query_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('complainant_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['complainant_id'], ['complainants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('complainant_id')
    )
    with op.batch_alter_table('query_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_codes_case_id'), ['case_id'], unique=False)
    op.create_table('reply_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('complainant_id', sa.Integer(), nullable=False),
    sa.Column('rating', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('comment_redacted', sa.Text(), server_default='', nullable=False),
    sa.Column('rated_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['complainant_id'], ['complainants.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['handling_reports.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id', 'complainant_id')
    )
    with op.batch_alter_table('reply_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_ratings_case_id'), ['case_id'], unique=False)
    op.create_table('public_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('public_hits', schema=None) as batch_op:
        batch_op.create_index('ix_public_hits_bucket_key_at', ['bucket', 'key', 'at'], unique=False)
        batch_op.create_index('ix_public_hits_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('public_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_public_hits_at')
        batch_op.drop_index('ix_public_hits_bucket_key_at')
    op.drop_table('public_hits')
    with op.batch_alter_table('reply_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reply_ratings_case_id'))
    op.drop_table('reply_ratings')
    with op.batch_alter_table('query_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_codes_case_id'))
    op.drop_table('query_codes')
