"""Offices and handling units: for choosing a unit to dispatch to, and for showing names."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, or_, select

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.present import org_out
from duban.api.schemas import Level, OrgOut
from duban.models import Org
from duban.services.orgs import org_by_code

router = APIRouter(prefix="/orgs", tags=["orgs"])


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
    parent = aliased(Org)
    query = select(Org, parent.code).outerjoin(parent, col(Org.parent_id) == parent.id)
    if q:
        query = query.where(or_(col(Org.name).contains(q), col(Org.code).contains(q.upper())))
    if kind:
        query = query.where(Org.kind == kind)
    if level:
        query = query.where(Org.level == level)
    if under:
        query = query.where(or_(Org.code == under, col(Org.code).startswith(under + "-")))
    with Session(ctx.engine) as session:
        rows = session.exec(query.order_by(Org.code).limit(limit)).all()
        return [org_out(org, parent_code) for org, parent_code in rows]


@router.get("/{code}", response_model=OrgOut, responses=errors(404))
def get_org(code: Annotated[str, Path(max_length=40)], actor: CurrentActor, ctx: Ctx) -> dict:
    """One office or unit by its code."""
    with Session(ctx.engine) as session:
        org = org_by_code(session, code)
        parent = session.get(Org, org.parent_id) if org.parent_id else None
        return org_out(org, parent.code if parent else None)
