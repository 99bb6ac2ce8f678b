"""notices to the complainant: their e-mail, and the outbox's SMS channel

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-04 18:50:00

complainants.email: a real-name complainant's e-mail (identity, like the phone), where notices go.
notifications.channel: email | sms; notifications.params: an SMS's template code and parameters
(JSON), fixed when the row is written, as subject and body are for an e-mail.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complainants") as batch:
        batch.add_column(sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=120),
                                   nullable=False, server_default=""))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=8), nullable=False, server_default="email"))
        batch.add_column(sa.Column("params", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("params")
        batch.drop_column("channel")
    with op.batch_alter_table("complainants") as batch:
        batch.drop_column("email")
