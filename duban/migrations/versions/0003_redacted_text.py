"""redacted twins of every free text

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:20:00

Identity (a complainant's name, phone, ID number…) is found in each text when it is written and the
text is stored twice: raw, for those with the right to identity, and redacted beside it, for everyone
else (duban.services.redaction). Existing rows get their redacted twin from `duban privacy redact`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = {
    "cases": ["title_redacted", "summary_redacted"],
    "repeat_contacts": ["title_redacted"],
    "handling_reports": ["text_redacted"],
    "reviews": ["reasons_redacted"],
    "callbacks": ["note_redacted"],
    "extensions": ["reason_redacted"],
    "objections": ["reason_redacted"],
    "interviews": ["note_redacted"],
    "audit_events": ["reason_redacted"],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
