"""延期 waiting for a decision: the approver's queue (`duban.services.extqueue`).

Decisions are case actions (`approve_extension` with `days` for a part, `reject_extension` with
a reason) at /api/cases/{number}/actions/{action}.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.services.extqueue import pending_extensions

router = APIRouter(prefix="/extensions", tags=["extensions"], route_class=PooledRoute)
Limit = Annotated[int, Query(ge=1, le=500)]


class PendingExtensionOut(BaseModel):
    id: int
    case_number: str
    title: str = Field(description="as you may read it")
    unit: str = Field(description="the handling unit asking")
    days: int = Field(description="the amount asked, in amount_unit")
    amount_unit: str = Field(description="workdays or days (policy [extension] unit)")
    amount_label: str = Field(description="the amount as a person reads it: 5个工作日")
    reason: str = Field(description="the unit's reason, redacted")
    requested_by: str
    requested_at: dt.datetime
    deadline_on: dt.date | None = Field(description="the running deadline the request would move")


class PendingExtensionsOut(BaseModel):
    items: list[PendingExtensionOut]
    count: int = Field(description="every request waiting for you, not only those listed")


@router.get("/pending", response_model=PendingExtensionsOut, responses=errors())
def pending(actor: CurrentActor, ctx: Ctx, limit: Limit = 100) -> dict:
    """Extension requests waiting for your decision (you approve for the office of record), oldest first."""
    items, count = pending_extensions(ctx, actor=actor, limit=limit)
    return {"items": [i.__dict__ for i in items], "count": count}
