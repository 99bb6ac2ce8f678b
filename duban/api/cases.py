"""Cases: register, list, read one with its recent history (the rest page by page), see what may be
done now, do it.

Reading one case runs on the event loop when the database is local (`duban.shortread`: short
work, where the hand-over to the thread pool cost more than the work); the rest, which may scan
many rows or wait on the disk (writes), in the thread pool. Every write goes through
`CaseService`; every read through `duban.services.reading` (the one door) with the caller as
actor, so scope and confidentiality are the service layer's, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path, Query

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import (
    ActedOut,
    ActionIn,
    ActionOut,
    CaseDetailOut,
    CaseIn,
    CaseListOut,
    EventPageOut,
    OutOfSightOut,
    RegisterOut,
    ReportPageOut,
)
from duban.errors import CaseNotFound, InvalidActionInput, OrgNotFound
from duban.models import CaseCreate
from duban.present.shapes import acted_out, action_out, detail_out, event_out, row_out
from duban.present.textcheck import MAX_DEPTH, text_problem
from duban.services import Actor, CaseService, ServiceContext
from duban.services.attachments import Upload
from duban.services.forms import FORMS
from duban.services.queries import CaseFilter
from duban.services.reading import (
    HISTORY_PAGE,
    SHOWN_HISTORY,
    case_detail,
    case_history,
    case_page,
    case_row,
    case_summary,
    scope,
)
from duban.services.search import CaseQuery, narrow
from duban.shortread import short_read

router = APIRouter(prefix="/cases", tags=["cases"], route_class=PooledRoute)

ActionName = Literal[tuple(FORMS)]  # type: ignore[valid-type]
Number = Annotated[str, Path(max_length=40, description="case number, e.g. GS-2023-00012")]
PageLimit = Annotated[int, Query(ge=1, le=500)]
PageOffset = Annotated[int, Query(ge=0, le=1_000_000)]
T = TypeVar("T")


def naming_org_field(call: Callable[[], T], fields: dict[str, str | None]) -> T:
    """Run a service call; an org code that does not exist is bad input in the field that named it."""
    try:
        return call()
    except OrgNotFound as exc:
        field = next((name for name, value in fields.items() if value == exc.ref), "unit")
        raise InvalidActionInput(action="lookup", field=field, kind="unknown_org",
                                 message="no office or unit has this code") from exc


def case_filter(ctx: ServiceContext, actor: Actor, query: CaseQuery) -> CaseFilter:
    """The caller's scope narrowed by the filters they asked for (never widened)."""
    return narrow(scope(ctx, actor=actor), query, ctx.orgs)


@router.post("", status_code=201, response_model=RegisterOut, responses=errors(403, 404, 409))
def register(body: CaseIn, actor: CurrentActor, ctx: Ctx) -> dict:
    """Register a complaint; one that repeats an open case is linked to it instead (linked=true)."""
    return register_case(body, actor=actor, ctx=ctx)


def register_case(body: CaseIn, *, actor: Actor, ctx: ServiceContext, files: Sequence[Upload] = ()) -> dict:
    """The registration route's work, with `files` attached (api/attachments.py sends them)."""
    data = CaseCreate(**body.model_dump())
    result = naming_org_field(lambda: CaseService(ctx).register(data, actor=actor, files=files),
                              {"office_code": body.office_code, "subject_org_code": body.subject_org_code,
                               "repeat_of": body.repeat_of})
    return {"linked": result.linked, "case": row_out(ctx.labels, case_row(ctx, result.case, actor=actor))}


@router.get("", response_model=CaseListOut)
def list_(
    actor: CurrentActor,
    ctx: Ctx,
    query: Annotated[CaseQuery, Query()],
) -> dict:
    """List the cases you may see, most urgent first (or sorted), with deadline, warning colour and
    the list's total."""
    flt = case_filter(ctx, actor, query)
    page = case_page(ctx, flt, actor=actor)
    return {"items": [row_out(ctx.labels, r) for r in page.rows], "limit": flt.limit, "offset": flt.offset,
            "has_more": flt.offset + len(page.rows) < page.total or page.capped,
            "total": page.total, "total_capped": page.capped}


@router.get("/{number}", response_model=CaseDetailOut, responses=errors(404))
async def get_case(number: Number, actor: CurrentActor, ctx: Ctx) -> dict:
    """One case: facts, people (masked as your role requires), deadline, the newest of its timeline
    and reports, allowed actions."""
    return await short_read(ctx, lambda: detail_out(
        ctx.labels, case_detail(ctx, number, actor=actor, history=SHOWN_HISTORY)))


@router.get("/{number}/timeline", response_model=EventPageOut, responses=errors(404))
def timeline(number: Number, actor: CurrentActor, ctx: Ctx, limit: PageLimit = HISTORY_PAGE,
             offset: PageOffset = 0) -> dict:
    """The case's events, oldest first, a page at a time."""
    items, total = case_history(ctx, number, "timeline", actor=actor, limit=limit, offset=offset)
    return {"items": [event_out(ctx.labels, e) for e in items], "total": total, "limit": limit,
            "offset": offset, "has_more": offset + len(items) < total}


@router.get("/{number}/reports", response_model=ReportPageOut, responses=errors(404))
def reports(number: Number, actor: CurrentActor, ctx: Ctx, limit: PageLimit = HISTORY_PAGE,
            offset: PageOffset = 0) -> dict:
    """The case's handling and progress reports, oldest first, a page at a time."""
    items, total = case_history(ctx, number, "reports", actor=actor, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "has_more": offset + len(items) < total}


@router.get("/{number}/actions", response_model=list[ActionOut], responses=errors(404))
def allowed(number: Number, actor: CurrentActor, ctx: Ctx) -> list[dict]:
    """The actions you may perform on the case now, each with its form's fields."""
    summary = case_summary(ctx, number, actor=actor)
    return [action_out(ctx.labels, a, unit=summary["extension_unit"]) for a in summary["allowed_actions"]]


@router.post("/{number}/actions/{action}", response_model=ActedOut | OutOfSightOut,
             responses=errors(403, 404, 409))
def act(number: Number, action: ActionName, body: ActionIn,  # type: ignore[valid-type]
        actor: CurrentActor, ctx: Ctx) -> dict:
    """Perform an action with its form; send expected_version to refuse a stale case. The answer
    is where the case stands now and what you may do next; GET the case for its history."""
    return perform(number, action, body, actor=actor, ctx=ctx)


def perform(number: str, action: str, body: ActionIn, *, actor: Actor, ctx: ServiceContext,
            files: Sequence[Upload] = ()) -> dict:
    """The action route's work, with `files` attached (api/attachments.py sends them)."""
    problem = text_problem(body.form, depth=1)
    if problem is not None:  # named as the service names a form's fields: by the field alone
        raise InvalidActionInput(action=action, field=problem.where.split(".")[0] or "form",
                                 kind=problem.kind, message=problem.message, limits={"max_depth": MAX_DEPTH})
    case = naming_org_field(lambda: CaseService(ctx).act(number, action, actor=actor, form=body.form,
                                                         expected_version=body.expected_version,
                                                         files=files),
                            {"unit": body.form.get("unit")})
    try:
        return acted_out(ctx.labels, case_summary(ctx, number, actor=actor))
    except CaseNotFound:
        return {"number": case.number, "state": case.state, "version": case.version, "visible": False,
                "state_label": ctx.labels.of("states", case.state)}
