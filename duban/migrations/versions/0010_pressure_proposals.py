"""pressure that people decide: proposals of the escalation ladder

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:40:00

A ladder step in "propose" mode (policy [[ladder.steps]] mode) is not fired by the sweep: it is
recorded here, once per case, episode and step, for a supervisor or leader to confirm, change or
dismiss with a reason (duban.services.proposals).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pressure_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('episode', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('proposed_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('decided_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_at', duban.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reason_redacted', sa.Text(), server_default='', nullable=False),
    sa.Column('taken_action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'episode', 'step')
    )
    with op.batch_alter_table('pressure_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pressure_proposals_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_pressure_proposals_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pressure_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_pressure_proposals_status')
        batch_op.drop_index(batch_op.f('ix_pressure_proposals_case_id'))
    op.drop_table('pressure_proposals')
