"""complainants' phones stored as their digits

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 09:40:00

No schema change. A Chinese phone number is now stored as its digits however it was typed
(139-1234-5678, +86 139 1234 5678, (0931) 888 1234 are 13912345678 and 09318881234: duban.phones),
and a search that is a phone number is read so: a number typed one way is found when it was
registered another. This rewrites the phones stored before; the search index's triggers rewrite
their cases' own rows. A number abroad, or anything else that is not surely a Chinese phone,
stays as typed. Downgrading keeps the digits (the typed form is not kept).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from duban.phones import stored

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    complainants = sa.table("complainants", sa.column("id", sa.Integer), sa.column("phone", sa.String))
    changed = [{"row_id": row.id, "digits": stored(row.phone)}
               for row in conn.execute(sa.select(complainants.c.id, complainants.c.phone)
                                       .where(complainants.c.phone != ""))
               if stored(row.phone) != row.phone]
    if changed:
        conn.execute(complainants.update().where(complainants.c.id == sa.bindparam("row_id"))
                     .values(phone=sa.bindparam("digits")), changed)


def downgrade() -> None:
    pass
