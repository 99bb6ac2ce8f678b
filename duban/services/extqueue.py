"""延期 waiting for a decision: the approver's queue and its count.

Only approvers (`[roles] approve_extension`) of the case's office of record see a request
(`scope.holds`), as only they may decide it. The reason is read redacted: the queue is a list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from duban.models import REQUESTED, Case, Extension
from duban.services.context import Actor, ServiceContext
from duban.services.persist import WRITE_COLUMNS, fetch_cases
from duban.services.scope import holds

_EXT = Extension.__table__  # type: ignore[attr-defined]
_PENDING = (core_select(_EXT.c.id, _EXT.c.case_id, _EXT.c.days, _EXT.c.unit, _EXT.c.reason_redacted,
                        _EXT.c.requested_by, _EXT.c.requested_at)
            .where(_EXT.c.status == REQUESTED).order_by(_EXT.c.requested_at, _EXT.c.id))


@dataclass(frozen=True)
class PendingExtension:
    id: int
    case_number: str
    title: str  # as the approver may read it
    unit: str  # the handling unit's name
    days: int
    amount_unit: str  # workdays | days
    amount_label: str  # "5个工作日"
    reason: str  # redacted
    requested_by: str
    requested_at: dt.datetime
    deadline_on: dt.date | None


def pending_extensions(ctx: ServiceContext, *, actor: Actor, limit: int = 100
                       ) -> tuple[list[PendingExtension], int]:
    """Requests `actor` may decide, oldest first, and how many there are; none for other roles."""
    if actor.role not in ctx.policy.roles.get("approve_extension", []):
        return [], 0
    from duban.services.reading import case_texts  # the one door for case texts

    with Session(ctx.engine) as session:
        rows = list(session.connection().execute(_PENDING))
        ids = sorted({r.case_id for r in rows})
        found = fetch_cases(session, select(*WRITE_COLUMNS).where(col(Case.id).in_(ids or [0])),
                            for_write=False)
        cases = {c.id: c for c in found if c.id is not None and holds(session, actor, c)}
        mine = [r for r in rows if r.case_id in cases]
        shown = mine[:limit]
        texts = case_texts(session, ctx, sorted({r.case_id for r in shown}), actor=actor)
    items = []
    for r in shown:
        case = cases[r.case_id]
        unit = r.unit or "days"
        items.append(PendingExtension(
            r.id, case.number, texts.get(r.case_id, {}).get("title", ""),
            ctx.orgs.by_id(case.unit_id).name if case.unit_id else "", r.days, unit,
            ctx.labels.amount(r.days, unit), r.reason_redacted, r.requested_by, r.requested_at,
            case.deadline_on))
    return items, len(mine)


def pending_extension_count(ctx: ServiceContext, *, actor: Actor) -> int | None:
    """How many requests wait for `actor`; None for a role that does not decide extensions."""
    if actor.role not in ctx.policy.roles.get("approve_extension", []):
        return None
    return pending_extensions(ctx, actor=actor, limit=0)[1]
