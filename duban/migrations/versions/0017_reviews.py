"""复查 / 复核 / 终结: review requests and the case's review stage

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-04 18:40:00

A complainant dissatisfied with the reply asks the office above for 复查, then the office above
that for 复核 (信访工作条例 art. 35, 36). Each request is a row of `review_requests` with the
reviewing office's opinion. The case keeps when it was last answered (the window to ask runs from
it), the level last asked for, the reviewing office (scope and inbox) and when it was concluded.
Cases answered before this revision get their reply time from their last `approve` event, so
their window runs as it would have.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('requested_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reason_redacted', sa.Text(), nullable=False, server_default=''),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('note_redacted', sa.Text(), nullable=False, server_default=''),
    sa.Column('decided_at', duban.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['orgs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_requests_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_requests_office_id'), ['office_id'], unique=False)
    # Plain ADD COLUMN, no foreign key (as in 0008): SQLite adds one only by copying the table.
    op.add_column('cases', sa.Column('replied_at', duban.models.base.UTCDateTime(timezone=True),
                                     nullable=True))
    op.add_column('cases', sa.Column('review_level', sqlmodel.sql.sqltypes.AutoString(length=16),
                                     nullable=True))
    op.add_column('cases', sa.Column('review_office_id', sa.Integer(), nullable=True))
    op.add_column('cases', sa.Column('concluded_at', duban.models.base.UTCDateTime(timezone=True),
                                     nullable=True))
    op.create_index(op.f('ix_cases_review_office_id'), 'cases', ['review_office_id'], unique=False)
    op.execute("UPDATE cases SET replied_at = (SELECT max(e.at) FROM audit_events e "
               "WHERE e.case_id = cases.id AND e.action = 'approve') "
               "WHERE state IN ('verified', 'closed')")


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_review_office_id'), table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('concluded_at')
        batch_op.drop_column('review_office_id')
        batch_op.drop_column('review_level')
        batch_op.drop_column('replied_at')
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_requests_office_id'))
        batch_op.drop_index(batch_op.f('ix_review_requests_case_id'))
    op.drop_table('review_requests')
