"""the unit's part: 签收, 退单 as a request, a structured handling report

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:50:00

cases.signed_at / signed_by: the handling unit signed for the case (签收); sign_due_on: the day it
must have signed by (policy [deadlines.sign_for]), cleared when it signs.
objections: a 退单 is now a request the dispatcher decides (status, decided_by/at, the decision's
note and its redacted twin). Rows written before took effect at once: they become "accepted".
handling_reports: 是否属实 (finding), what was done, 整改措施, 问责情况, each text with its twin.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_REPORT_TEXTS = ("actions_taken", "rectification", "accountability")


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False, server_default="")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("signed_at", duban.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("signed_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch.add_column(sa.Column("sign_due_on", sa.Date(), nullable=True))
    with op.batch_alter_table("objections") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="accepted"))
        batch.add_column(sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch.add_column(sa.Column("decided_at", duban.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(_text("decision_note"))
        batch.add_column(_text("decision_note_redacted"))
        batch.create_index("ix_objections_status", ["status"])
    with op.batch_alter_table("handling_reports") as batch:
        batch.add_column(sa.Column("finding", sa.String(length=16), nullable=True))
        for name in _REPORT_TEXTS:
            batch.add_column(_text(name))
            batch.add_column(_text(f"{name}_redacted"))


def downgrade() -> None:
    with op.batch_alter_table("handling_reports") as batch:
        for name in reversed(_REPORT_TEXTS):
            batch.drop_column(f"{name}_redacted")
            batch.drop_column(name)
        batch.drop_column("finding")
    with op.batch_alter_table("objections") as batch:
        batch.drop_index("ix_objections_status")
        for name in ("decision_note_redacted", "decision_note", "decided_at", "decided_by", "status"):
            batch.drop_column(name)
    with op.batch_alter_table("cases") as batch:
        for name in ("sign_due_on", "signed_by", "signed_at"):
            batch.drop_column(name)
