"""redaction: a writer's name ending in 方, their own vehicle's plate, a spelled e-mail's 。

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07 21:30:00

No schema change. The redactor now masks a name after 我是 that ends in 方 when it is a surname
and one character (我是李方。: 方 ends a kind of person only after a word, 付款方; the pairs that are
words, 官方 and 劳方, are not names), and the writer's own vehicle's plate after the words for it
(我的车甘A·12345被拖走, 本人车辆车牌号为…; another's plate stays for the unit to find); and a
spelled e-mail's 。 no longer takes a space before it (lijianguo@163.com at a line's end with 。AA
on the next masked them). Twins written before may show such names and plates, or cut such
lines: upgrading past this revision recomputes every twin (duban.schema.upgrade, as `duban
privacy redact` does).
"""

from __future__ import annotations

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
