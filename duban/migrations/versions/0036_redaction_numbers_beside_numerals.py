"""redaction: numbers written in Chinese numerals beside a numeral word

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 06:20:00

No schema change. The redactor now masks a number written in Chinese numerals when a word made of
a numeral stands right beside it (一〇九三一八八八八八八八, 一三六〇九三一八八八八一直…), which
before read as one more digit of the number, so the number went unmasked. Twins written before
may show it: upgrading past this revision recomputes every twin (duban.schema.upgrade, as
`duban privacy redact` does), in chunks after the migration's transaction.
"""

from __future__ import annotations

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
