"""redaction: identity in more of the forms people write it

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 20:10:00

No schema change. The redactor now also masks: mobiles with a bare country code or a
long-distance 0 (8613609318888, 013609318888), in pairs or fives (136 09 31 88 88), with a few
digits in numerals (幺36 0931 8888); numbers abroad (+852 9123 4567); numbers a writer starred out
(136****8888); an account, a document's number, a card or a number's last digits after the word
for it (扣扣, VX, 护照号, 存折账号, 尾号); a full name after the word that introduces one (我叫,
联系人, 反映人) or of a compound surname that is no word (欧阳建国); the registered surname with a
title (李老师); the registered address with its building named by another word (5号楼 for 5栋); a home's unit and room and the
address after 家住 or 住址; e-mail spelled out (at, dot, 点). And it no longer masks a work
order's number that begins with its day, 发票号码's number, or a surname inside a word (原先生产,
对门大姐). Twins written before may show what is now masked: upgrading past this revision
recomputes every twin (duban.schema.upgrade, as `duban privacy redact` does).
"""

from __future__ import annotations

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
