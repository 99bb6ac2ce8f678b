"""ladder contacts and overdue carried across a raise

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:30:00

orgs.leader_email: the same-level government's leader in charge of the org (同级政府分管领导),
to whom 抄告 goes (重要工作提示 goes to the top official, orgs.head_email).
cases.missed_deadline_on: the deadline a unit missed when a raise started a new limit, so the
case keeps counting overdue until the unit reports.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(sa.Column("leader_email", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=False, server_default=""))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("missed_deadline_on", sa.Date(), nullable=True))
        batch.create_index("ix_cases_missed_deadline_on", ["missed_deadline_on"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_missed_deadline_on")
        batch.drop_column("missed_deadline_on")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("leader_email")
