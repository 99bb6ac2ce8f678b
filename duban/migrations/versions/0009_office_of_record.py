"""the office of record: who holds a case after 提级直办

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:40:00

cases.record_office_id is the office that took a case over (提级直办, or avoidance handing it to
an office above); it reviews, approves, calls back and presses, while the receiving office
(cases.office_id: numbering, reports) keeps reading the case. NULL: the receiving office holds it.

Existing cases are backfilled by replaying their assignments as the service now does
(duban.services.routing.take_over): each time the case was handed to an office above its office
of record, that office became the office of record. So a case escalated from a county to its
city gets the city office, also when the city has since reassigned it to a unit of its own.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_ORGS = sa.table("orgs", sa.column("id", sa.Integer), sa.column("code", sa.String),
                 sa.column("kind", sa.String))
_CASES = sa.table("cases", sa.column("id", sa.Integer), sa.column("office_id", sa.Integer),
                  sa.column("unit_id", sa.Integer), sa.column("disposition", sa.String),
                  sa.column("record_office_id", sa.Integer))
_EVENTS = sa.table("audit_events", sa.column("case_id", sa.Integer), sa.column("seq", sa.Integer),
                   sa.column("data", sa.JSON))


def _above(code: str, region: str) -> bool:
    """Whether the org `region` is above `code` (its code a strict prefix of it)."""
    return code.startswith(region + "-")


def _backfill(conn: Any) -> None:
    orgs = {row.id: row for row in conn.execute(sa.select(_ORGS))}
    by_code = {row.code: row for row in orgs.values()}
    offices = [i for i, row in orgs.items() if row.kind == "office"]
    if not offices:
        return
    candidates = list(conn.execute(sa.select(_CASES.c.id, _CASES.c.office_id).where(sa.or_(
        _CASES.c.disposition == "escalate", _CASES.c.unit_id.in_(offices)))))
    for start in range(0, len(candidates), 500):
        chunk = {row.id: row.office_id for row in candidates[start:start + 500]}
        record = {case_id: orgs[office_id] for case_id, office_id in chunk.items()}
        events = conn.execute(sa.select(_EVENTS.c.case_id, _EVENTS.c.data)
                              .where(_EVENTS.c.case_id.in_(sorted(chunk)))
                              .order_by(_EVENTS.c.case_id, _EVENTS.c.seq))
        for case_id, data in events:
            unit = by_code.get((data or {}).get("unit") or "")
            if unit is not None and unit.kind == "office" and _above(record[case_id].code, unit.code):
                record[case_id] = unit
        for case_id, office in record.items():
            if office.id != chunk[case_id]:
                conn.execute(sa.update(_CASES).where(_CASES.c.id == case_id)
                             .values(record_office_id=office.id))


def upgrade() -> None:
    # The reference inline (ADD COLUMN … REFERENCES): SQLite adds it without rebuilding the table,
    # which other tables' rows refer to.
    op.add_column("cases", sa.Column("record_office_id", sa.Integer(), sa.ForeignKey("orgs.id"),
                                     nullable=True), inline_references=True)
    _backfill(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("cases", "record_office_id")  # its reference goes with it
    else:
        with op.batch_alter_table("cases") as batch:
            batch.drop_column("record_office_id")
