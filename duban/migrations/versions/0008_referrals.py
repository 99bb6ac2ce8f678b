"""referral to a discipline commission as its own path

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:00:00

A referral (移交纪检监察机关) gets its own table: the commission, whether the unit's handling
continues, the two notices owed to a real-name reporter (acceptance, result) and the commission's
outcome. The case keeps the commission and the referring office (for scoping every read) and the
day its next notice is due (for the sweep's reminders).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('commission_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('referred_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('referred_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('handling_continues', sa.Boolean(), nullable=False),
    sa.Column('real_name', sa.Boolean(), nullable=False),
    sa.Column('acknowledgement_due_on', sa.Date(), nullable=True),
    sa.Column('acknowledged_at', duban.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=False),
    sa.Column('outcome_note_redacted', sa.Text(), nullable=False, server_default=''),
    sa.Column('concluded_at', duban.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('concluded_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('feedback_due_on', sa.Date(), nullable=True),
    sa.Column('feedback_at', duban.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['commission_id'], ['orgs.id'], ),
    sa.ForeignKeyConstraint(['office_id'], ['orgs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_commission_id'), ['commission_id'], unique=False)
    # Plain ADD COLUMN, no foreign key: SQLite adds one only by copying the table, which other
    # tables' foreign keys to cases forbid. The referral row holds the checked references.
    op.add_column('cases', sa.Column('referred_to_id', sa.Integer(), nullable=True))
    op.add_column('cases', sa.Column('referred_from_id', sa.Integer(), nullable=True))
    op.add_column('cases', sa.Column('notice_due_on', sa.Date(), nullable=True))
    op.create_index(op.f('ix_cases_referred_to_id'), 'cases', ['referred_to_id'], unique=False)
    # Cases referred before this revision: the commission held them as their unit. They are
    # scoped as referrals from now on; their referral row is made by the commission's next step
    # (services/referrals.py `_open`), in that step's audited transaction.
    op.execute("UPDATE cases SET referred_to_id = unit_id, referred_from_id = office_id "
               "WHERE disposition = 'refer' AND unit_id IS NOT NULL")


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_referred_to_id'), table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('notice_due_on')
        batch_op.drop_column('referred_from_id')
        batch_op.drop_column('referred_to_id')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_commission_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))
    op.drop_table('referrals')
