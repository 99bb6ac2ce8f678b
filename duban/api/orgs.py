"""Offices and handling units: for choosing a unit to dispatch to, and for showing names."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import Level, OrgOut
from duban.present.shapes import org_out
from duban.services.orgs import find_orgs, org_and_parent

router = APIRouter(prefix="/orgs", tags=["orgs"], route_class=PooledRoute)


@router.get("", response_model=list[OrgOut])
def list_orgs(
    actor: CurrentActor,
    ctx: Ctx,
    q: Annotated[str | None, Query(max_length=60, description="in the name or code")] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    level: Level | None = None,
    under: Annotated[str | None, Query(max_length=40, description="org code: that region and below")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict]:
    """Offices and units in code order (a region's orgs sit together)."""
    rows = find_orgs(ctx.engine, q=q, kind=kind, level=level, under=under, limit=limit)
    return [org_out(org, parent_code) for org, parent_code in rows]


@router.get("/{code}", response_model=OrgOut, responses=errors(404))
def get_org(code: Annotated[str, Path(max_length=40)], actor: CurrentActor, ctx: Ctx) -> dict:
    """One office or unit by its code."""
    org, parent_code = org_and_parent(ctx.engine, code)
    return org_out(org, parent_code)
