"""What clients need to draw forms and labels, the health check, and the dashboard counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from duban.api.deps import Ctx, CurrentActor
from duban.api.routing import PooledRoute
from duban.api.schemas import ActionOut, DashboardOut
from duban.present.shapes import action_out, row_out
from duban.services.dashboard import dashboard
from duban.services.forms import FORMS

router = APIRouter(prefix="/meta", tags=["meta"], route_class=PooledRoute)

LABEL_TABLES = ("states", "dispositions", "actions", "priorities", "levels", "kinds", "channels",
                "categories", "warnings", "deadline_kinds", "roles", "fields")


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: answers without a database round trip or a token."""
    return {"status": "ok"}


@router.get("/labels", response_model=dict[str, dict[str, str]], )
def labels(actor: CurrentActor, ctx: Ctx) -> dict[str, Any]:
    """The Chinese label of every code (states, dispositions, actions, ...)."""
    return {name: getattr(ctx.labels, name) for name in LABEL_TABLES}


@router.get("/forms", response_model=list[ActionOut], )
def forms(actor: CurrentActor, ctx: Ctx) -> list[dict]:
    """Every action's form: its fields, labels and limits."""
    return [action_out(ctx.labels, action, unit=ctx.policy.extension.unit) for action in FORMS]


@router.get("/dashboard", response_model=DashboardOut, )
def dashboard_(actor: CurrentActor, ctx: Ctx) -> dict:
    """Counts by level, disposition, state and warning colour, and the overdue cases, in your scope."""
    board = dashboard(ctx, actor)
    return {
        "counts": {"total": board.total, "open": board.open, "overdue": board.overdue_count,
                   "by_level": board.by_level, "by_disposition": board.by_disposition,
                   "by_state": board.by_state, "by_warning": board.by_warning,
                   "subjects_flagged": board.subjects_flagged},
        "overdue": [row_out(ctx.labels, r) for r in board.overdue],
    }
