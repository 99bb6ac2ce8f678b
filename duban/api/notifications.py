"""The outbox as the office reads it: mail that could not be delivered must be seen, not lost."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.services.outboxview import list_mail

router = APIRouter(prefix="/notifications", tags=["notifications"], route_class=PooledRoute)


class NotificationOut(BaseModel):
    id: int
    case_number: str | None
    kind: str  # the template (config/notifications.toml); the subject says it in Chinese
    audience: str
    recipient: str
    to_address: str
    subject: str
    status: Literal["pending", "sending", "sent", "failed"]
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


@router.get("", response_model=list[NotificationOut], responses=errors(403))
def list_notifications(
    actor: CurrentActor,
    ctx: Ctx,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict]:
    """Mail in your region, newest first; status=failed lists what the mail server refused for good."""
    return [row.__dict__ for row in list_mail(ctx, actor, status=status, limit=limit, offset=offset)]
