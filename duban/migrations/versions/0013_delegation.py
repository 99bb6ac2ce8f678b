"""二次交办: a government passes a case on to one of its departments

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04 18:40:00

cases.delegate_id: the department the handling unit (a government) passed the case on to; the
government stays the case's unit. cases.delegate_report_pending: the department's report waits for
the government's review (forward_report / return_delegate_report) before it goes to the office.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no foreign key (as for cases.referred_to_id, 0008): SQLite adds one only
    # by copying the table, which other tables' foreign keys to cases forbid.
    op.add_column('cases', sa.Column('delegate_id', sa.Integer(), nullable=True))
    op.add_column('cases', sa.Column('delegate_report_pending', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_index(op.f('ix_cases_delegate_id'), 'cases', ['delegate_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_delegate_id'), table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('delegate_report_pending')
        batch_op.drop_column('delegate_id')
