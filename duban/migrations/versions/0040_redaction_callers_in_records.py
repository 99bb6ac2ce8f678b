"""redaction: callers as a hotline record names them, and names that hold a numeral

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 09:40:00

No schema change. The redactor now also masks a name after a word for a member of the public
when a record's verb follows it (市民赵丽颖来电, 村民马小明反映, 业主刘强（3号楼）反映, 我是该小区业主刘强),
a name with its role in brackets (张三（来电人）), a name with its group (张大山等5人反映) and the
names listed with it (农民工张大山、李小河、王二等十人), the names of a masked person's family (王建军的
女儿王小红, 其妻子李秀英), a registered given name where a person is meant (建军师傅, 建军反映), the
surname a writer gives (我姓王), a Tibetan name, which has no surname (来电人扎西才让反映, 扎西师傅),
a name that begins a record's sentence (张三反映：…) or stands before a number (王五，13912345678),
a birth date (出生日期：1980年1月1日), and a name that holds a numeral before a number (联系人：李四
13912345678, 落款 张三 2023.3.1: the numeral was read as a digit of the number). Twins written
before may show such names: upgrading past this revision recomputes every twin
(duban.schema.upgrade, as `duban privacy redact` does).
"""

from __future__ import annotations

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
