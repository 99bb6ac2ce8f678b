"""sessions that can end: a per-user session epoch

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:30:00

Signing out, a new password and disabling an account bump users.session_epoch and delete the
user's bearer tokens (duban.services.sessions): a page cookie carries the epoch it was issued
under, so every older cookie stops working at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
