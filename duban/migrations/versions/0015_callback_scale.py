"""callbacks by method and on a scale; attempts that reach nobody

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-04 18:50:00

callbacks.method (phone | sms | visit), callbacks.result (satisfied | basically_satisfied |
unsatisfied, or unreachable for an attempt that reached nobody), callbacks.reason (why not
satisfied, with its redacted twin) and callbacks.episode (the verification an attempt belongs to,
so that "联系不上" attempts are counted per verification). `satisfied` becomes nullable: only rows
from before this migration have it. Those rows are read on the scale (true → satisfied, false →
unsatisfied) rather than rewritten: each row's digest is held by the audit event that wrote it,
and a rewrite would read as an edit (the new columns are digested only when set).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("satisfied", existing_type=sa.Boolean(), nullable=True)
        batch.add_column(sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch.add_column(sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reason_redacted", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("episode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    # Newer rows go back to the flag; an unreachable attempt was no callback and goes.
    op.execute("DELETE FROM callbacks WHERE result = 'unreachable'")
    op.execute("UPDATE callbacks SET satisfied = (result IN ('satisfied', 'basically_satisfied')) "
               "WHERE satisfied IS NULL")
    with op.batch_alter_table("callbacks") as batch:
        for column in ("episode", "reason_redacted", "reason", "result", "method"):
            batch.drop_column(column)
        batch.alter_column("satisfied", existing_type=sa.Boolean(), nullable=False)
