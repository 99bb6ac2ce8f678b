"""redaction: a writer introducing themself, and a letter's opening particulars

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 05:40:00

No schema change. The redactor now also masks a full name after the words a writer introduces
themself by (本人, 我是, 我系) when their particulars or where they live follow it (本人马保国，男，
汉族; 我是张三丰，住在…) or alone after 我是 (你好，我是张三，我想反映; not what the writer is: 我是
党员, 我是江苏人), and a name at the start of a text or a sentence with a person's
particulars after it (张三，男，汉族，1965年出生: how a letter opens), a name after 署名, 落款 or a
letter's closing (此致 敬礼！ 张三 2023年3月1日), the name of the writer's family (我儿子张小明在
该校读书, 我母亲刘秀英，今年78岁); a registered name written in
traditional characters (李建國) or in pinyin (Li Jianguo, Jianguo LI); the registered surname with
总, 经理 or 老板 (李总). Twins written before may
show such names: upgrading past this revision recomputes every twin (duban.schema.upgrade, as
`duban privacy redact` does).
"""

from __future__ import annotations

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
