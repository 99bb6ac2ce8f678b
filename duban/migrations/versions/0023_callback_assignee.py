"""callback tasks name the callback officer they were given to (分派回访)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 22:30:00

callback_tasks.assignee (a user name, empty until assigned) and callback_tasks.assigned_at. Rows
from before hold an empty assignee: audit.toml lists both as added, so their digests stand.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callback_tasks") as batch:
        batch.add_column(sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("assigned_at", duban.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callback_tasks") as batch:
        batch.drop_column("assigned_at")
        batch.drop_column("assignee")
