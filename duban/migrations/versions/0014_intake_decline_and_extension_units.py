"""不予受理 and extensions in the policy's unit

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-04 19:00:00

declines: a received case declined (不予受理) for a reason of policy [intake.decline_reasons].
cases.decline_reason: that reason while the case is not_accepted (lists show it).
cases.extension_unit: the unit of cases.extension_days (None: calendar days, as before).
extensions.unit / granted_days / decision_note: the amount's unit, the amount granted (at most the
amount asked), and why it was refused or cut.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('declines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('note_redacted', sa.Text(), nullable=False, server_default=''),
    sa.Column('declined_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('declined_at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('declines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declines_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_declines_reason'), ['reason'], unique=False)
        batch_op.create_index(batch_op.f('ix_declines_declined_at'), ['declined_at'], unique=False)
    # Plain ADD COLUMN (no table copy: other tables' foreign keys point at cases).
    op.add_column('cases', sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=32),
                                     nullable=True))
    op.add_column('cases', sa.Column('extension_unit', sqlmodel.sql.sqltypes.AutoString(length=16),
                                     nullable=True))
    with op.batch_alter_table('extensions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('granted_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('decision_note_redacted', sa.Text(), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('extensions', schema=None) as batch_op:
        batch_op.drop_column('decision_note_redacted')
        batch_op.drop_column('decision_note')
        batch_op.drop_column('granted_days')
        batch_op.drop_column('unit')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('extension_unit')
        batch_op.drop_column('decline_reason')
    with op.batch_alter_table('declines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declines_declined_at'))
        batch_op.drop_index(batch_op.f('ix_declines_reason'))
        batch_op.drop_index(batch_op.f('ix_declines_case_id'))
    op.drop_table('declines')
