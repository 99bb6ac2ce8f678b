"""Pressure that people decide: the proposals the ladder waits on, and interviews to hold.

Everything is `duban.services.proposals`: scope (out of scope is 404, as a proposal that does
not exist), roles (`[roles] decide_pressure`, `hold_interview`) and the audit trail are the
service layer's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import _In
from duban.config.policy import Labels, LadderAction
from duban.models import Interview, PressureProposal
from duban.services import proposals

router = APIRouter(prefix="/pressure", tags=["pressure"], route_class=PooledRoute)
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]


class ProposalItemOut(BaseModel):
    id: int
    case_number: str
    title: str  # as you may read it (redacted unless you may see who complained)
    unit: str
    action: str
    action_label: str
    proposed_at: dt.datetime
    deadline_on: dt.date | None
    overdue_workdays: int


class ProposalQueueOut(BaseModel):
    items: list[ProposalItemOut]
    count: int  # every open proposal in your scope, not only those listed


class DecisionIn(_In):
    decision: Literal["confirm", "change", "dismiss"]
    action: LadderAction | None = Field(default=None, description="the ladder action taken instead (change)")
    reason: str = Field(default="", max_length=4000, description="required to change or dismiss")


class ProposalOut(BaseModel):
    id: int
    action: str
    status: Literal["open", "confirmed", "changed", "dismissed"]
    status_label: str
    taken_action: str
    decided_by: str
    decided_at: dt.datetime | None


class InterviewItemOut(BaseModel):
    id: int
    case_number: str
    title: str
    unit: str
    office: str
    requested_at: dt.datetime


class InterviewQueueOut(BaseModel):
    items: list[InterviewItemOut]
    count: int


class HeldIn(_In):
    held_on: dt.date = Field(description="the day the interview was held (not in the future)")
    minutes: str = Field(min_length=1, max_length=20000, description="the minutes (约谈纪要)")


class InterviewOut(BaseModel):
    id: int
    status: Literal["to_hold", "held"]
    held_on: dt.date | None


def _proposal_out(labels: Labels, p: PressureProposal) -> dict:
    return {"id": p.id, "action": p.action, "status": p.status,
            "status_label": labels.pressure.get(f"status_{p.status}", p.status),
            "taken_action": p.taken_action, "decided_by": p.decided_by, "decided_at": p.decided_at}


@router.get("/proposals", response_model=ProposalQueueOut, responses=errors(403))
def proposal_queue(actor: CurrentActor, ctx: Ctx, limit: Limit = 100) -> dict:
    """Open proposals (约谈, 通报, 升级督办…) on the cases you may act on, oldest first, and their count."""
    items, count = proposals.proposal_queue(ctx, actor=actor, limit=limit)
    return {"items": [{**i.__dict__, "action_label": ctx.labels.of("actions", i.action)} for i in items],
            "count": count}


@router.post("/proposals/{proposal_id}/decision", response_model=ProposalOut, responses=errors(403, 404, 409))
def decide(proposal_id: ItemId, body: DecisionIn, actor: CurrentActor, ctx: Ctx) -> dict:
    """Confirm the proposed step (it fires now, as you), change it to another ladder action, or
    dismiss it; a reason is required to change or dismiss."""
    decided = proposals.decide(ctx, proposal_id, actor=actor, decision=body.decision, action=body.action,
                               reason=body.reason)
    return _proposal_out(ctx.labels, decided)


@router.get("/interviews", response_model=InterviewQueueOut, responses=errors(403))
def interviews(actor: CurrentActor, ctx: Ctx, limit: Limit = 100) -> dict:
    """Interviews (约谈) decided and not yet held, on the cases you may act on, and their count."""
    items, count = proposals.interviews_to_hold(ctx, actor=actor, limit=limit)
    return {"items": [i.__dict__ for i in items], "count": count}


@router.post("/interviews/{interview_id}/held", response_model=InterviewOut, responses=errors(403, 404, 409))
def held(interview_id: ItemId, body: HeldIn, actor: CurrentActor, ctx: Ctx) -> dict:
    """Record an interview as held: the day and the minutes (纪要)."""
    done: Interview = proposals.record_interview_held(ctx, interview_id, actor=actor, held_on=body.held_on,
                                                      minutes=body.minutes)
    return {"id": done.id, "status": done.status, "held_on": body.held_on}
