"""回访工作台 over HTTP: the open callbacks and revisits of the caller's office, all, given to the
caller (mine) or to nobody yet (unassigned). Read through duban.services.callbackdesk with the
caller as actor: scope and identity (the complainant's name and phone only for roles policy
[privacy] lets see them) are the service layer's. Record a callback with the case action
record_callback (POST /api/cases/{number}/actions/record_callback); give items to an officer with
POST /api/bulk/actions (assign_callback).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.services.callbackdesk import DeskItem, callback_desk, my_open_callbacks

router = APIRouter(prefix="/callbacks", tags=["cases"], route_class=PooledRoute)


class CallbackItemOut(BaseModel):
    id: int
    kind: Literal["callback", "revisit"]
    kind_label: str
    reason: str
    case_number: str
    state: str
    state_label: str
    title: str
    unit: str
    queued_at: str
    assignee: str = Field(description="the callback officer's user name; empty while unassigned")
    assigned_at: str | None
    complainant: str = Field(description="the complainant's name; empty unless your role may see identity")
    phone: str = Field(description="the complainant's phone; empty unless your role may see identity")


class CallbackDeskOut(BaseModel):
    show: str
    mine_open: int = Field(description="open items given to you, whatever `show` is")
    items: list[CallbackItemOut]


def item_out(ctx: Any, item: DeskItem) -> dict[str, Any]:
    labels = ctx.labels
    return {"id": item.id, "kind": item.kind, "kind_label": labels.of("actions", f"queue_{item.kind}"),
            "reason": item.reason, "case_number": item.case_number, "state": item.state,
            "state_label": labels.of("states", item.state), "title": item.title, "unit": item.unit,
            "queued_at": item.queued_at.isoformat(), "assignee": item.assignee,
            "assigned_at": item.assigned_at.isoformat() if item.assigned_at else None,
            "complainant": item.person, "phone": item.phone}


@router.get("", response_model=CallbackDeskOut, responses=errors(403))
def desk(actor: CurrentActor, ctx: Ctx, show: Literal["all", "mine", "unassigned"] = "all",
         kind: Literal["callback", "revisit"] | None = None,
         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """The open items of your office's call list, oldest first (roles that record callbacks)."""
    items = callback_desk(ctx, actor=actor, show=show, kind=kind, limit=limit)
    return {"show": show, "mine_open": my_open_callbacks(ctx, actor=actor),
            "items": [item_out(ctx, item) for item in items]}
