"""Bulk actions: 催办, 改派, 分派回访 on many cases (one outcome per case), and 导出 as XLSX.

Under /api/bulk, not /api/cases/bulk: that path is a case number to GET /api/cases/{number}.

Each case is its own action in the service layer (duban.services.bulk): the answer is 200 with
every case's outcome, ok, skipped (done already), refused (the named error, both languages) or
not_found (also what is outside your scope). What is wrong with the request as a whole (an
unknown action, a bad form, more cases than policy [bulk] max_cases) is a 422 before any case.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import _In
from duban.errors import InvalidActionInput
from duban.present.shapes import bulk_out
from duban.present.textcheck import MAX_DEPTH, text_problem
from duban.services import bulk

router = APIRouter(prefix="/bulk", tags=["cases"], route_class=PooledRoute)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# No max_length here: the one figure is policy [bulk] max_cases, counted by the service once blanks
# and repeats are dropped (the schema's own 5000 answered 最多5000项 where the policy says 200);
# the body limit (duban.app.MAX_BODY) bounds what is parsed. The OpenAPI document states the figure.
Numbers = Field(description="case numbers, at most policy [bulk] max_cases different ones")


class BulkIn(_In):
    action: Literal["remind", "reassign", "assign_callback"] = Field(
        description="remind 催办 (form: note), reassign 改派 (form: unit, reason), "
                    "assign_callback 分派回访 (form: assignee, a callback officer's user name)")
    numbers: list[str] = Numbers
    form: dict[str, Any] = Field(default_factory=dict,
                                 description="the action's form, the same for every case")


class BulkExportIn(_In):
    numbers: list[str] = Numbers


class BulkOutcomeOut(BaseModel):
    number: str
    status: Literal["ok", "skipped", "refused", "not_found"]
    status_label: str
    state: str | None
    state_label: str
    code: str | None = Field(description="the error's code (refused, not_found) or why it was skipped")
    message: str | None
    message_zh: str | None


class BulkOut(BaseModel):
    action: str
    action_label: str
    counts: dict[str, int]
    outcomes: list[BulkOutcomeOut]


@router.post("/actions", response_model=BulkOut, responses=errors(422))
def act_on_many(body: BulkIn, actor: CurrentActor, ctx: Ctx) -> dict:
    """Perform one action with the same form on each case, each its own audited action; the answer
    lists every case's outcome. A retried request does nothing twice (skipped)."""
    problem = text_problem(body.form, depth=1)
    if problem is not None:
        raise InvalidActionInput(action=body.action, field=problem.where.split(".")[0] or "form",
                                 kind=problem.kind, message=problem.message, limits={"max_depth": MAX_DEPTH})
    result = bulk.run(ctx, body.action, body.numbers, actor=actor, form=body.form)
    return bulk_out(ctx.labels, result)


@router.post("/export", response_class=Response, responses={
    200: {"content": {XLSX: {}}, "description": "the cases, and a sheet of each number's outcome"},
    **errors(422)})
def export(body: BulkExportIn, actor: CurrentActor, ctx: Ctx) -> Response:
    """The cases as an XLSX workbook, as you may take them away (complainant columns only for roles
    that may see identity), with a sheet of each number's outcome (导出 or 未找到)."""
    result, data = bulk.export(ctx, body.numbers, actor=actor)
    counts = result.counts()
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": "attachment; filename=\"cases.xlsx\"",
        "X-Duban-Exported": str(counts["ok"]), "X-Duban-Not-Found": str(counts["not_found"])})
