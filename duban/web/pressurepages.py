"""The pressure page: ladder steps the engine proposes, for a supervisor or leader to decide, and
interviews (约谈) for the office to record as held.

Everything is `duban.services.proposals`'s (scope, roles, audit); a refusal comes back on the page
in Chinese with what was typed kept, and an item out of scope is a 404 page, as one that never was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from duban.errors import DubanError, InvalidActionInput, ItemNotFound, PermissionDenied
from duban.present.problems import Problem, field_message, problem_for
from duban.services import proposals
from duban.services.context import Actor, ServiceContext
from duban.web.forms import page_int, posted_form
from duban.web.pages import web_of
from duban.web.render import Viewer, Web

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]
SHOWN = 100
KEYS = ("decide_pressure", "hold_interview")


def _viewer(request: Request, web: Web) -> Viewer:
    """The viewer, if their role decides pressure or records interviews; others get a 403 page."""
    viewer = web.require(request)
    if not any(viewer.role in web.ctx.policy.roles.get(key, []) for key in KEYS):
        raise PermissionDenied(action="decide_pressure", role=viewer.role,
                               allowed_roles=web.ctx.policy.roles.get("decide_pressure", []))
    return viewer


def _page(request: Request, web: Web, viewer: Viewer, *, status: int = 200, flash: str = "",
          problem: Problem | None = None, open_item: str = "", errors: dict[str, list[str]] | None = None,
          values: dict[str, str] | None = None) -> Response:
    roles = web.ctx.policy.roles
    queue: list[proposals.ProposalItem] = []
    to_hold: list[proposals.InterviewItem] = []
    count = held_count = 0
    if viewer.role in roles.get("decide_pressure", []):
        queue, count = proposals.proposal_queue(web.ctx, actor=viewer.actor, limit=SHOWN)
    if viewer.role in roles.get("hold_interview", []):
        to_hold, held_count = proposals.interviews_to_hold(web.ctx, actor=viewer.actor, limit=SHOWN)
    ladder = [s.action for s in web.ctx.policy.ladder.steps]
    return web.render(request, "pressure.html", viewer=viewer, status=status, flash=flash, problem=problem,
                      queue=queue, count=count, to_hold=to_hold, held_count=held_count, ladder=ladder,
                      decides=viewer.role in roles.get("decide_pressure", []),
                      holds=viewer.role in roles.get("hold_interview", []),
                      open_item=open_item, errors=errors or {}, values=values or {},
                      today=web.ctx.today().isoformat())


@router.get("/pressure", response_class=HTMLResponse)
def pressure_page(request: Request) -> Response:
    web = web_of(request)
    viewer = _viewer(request, web)
    done = request.query_params.get("done", "")
    flash = web.ctx.labels.actions.get(done, "") if done in ("decide_pressure", "hold_interview") else ""
    return _page(request, web, viewer, flash=flash)


def _csrf(web: Web) -> Problem:
    return Problem(status=403, code="csrf_failed", message="the form expired; reload the page",
                   message_zh=web.ctx.labels.errors["csrf_failed"])


def _refused(request: Request, web: Web, viewer: Viewer, exc: DubanError, *, item: str,
             posted: dict[str, str]) -> Response:
    if isinstance(exc, ItemNotFound):
        raise exc  # the 404 page: scope hides, never explains
    if isinstance(exc, InvalidActionInput):
        message = field_message(web.ctx.labels, field=exc.field, kind=exc.kind, message=exc.message,
                                limits=exc.limits)
        return _page(request, web, viewer, status=422, open_item=item, errors={exc.field: [message]},
                     values=posted)
    problem = problem_for(exc, web.ctx.labels)
    return _page(request, web, viewer, status=problem.status, problem=problem, open_item=item, values=posted)


def _decided(request: Request, kind: str, raw_id: str, posted: dict[str, str], done: str,
             act: Callable[[ServiceContext, int, Actor], object]) -> Response:
    """A form on /pressure: CSRF, the item's id, the service call, and the page again on refusal."""
    web = web_of(request)
    viewer = _viewer(request, web)
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        return web.error_page(request, _csrf(web))
    number = page_int({"id": raw_id[:12]}, "id")
    try:
        if number is None:
            raise ItemNotFound(kind, raw_id)
        act(web.ctx, number, viewer.actor)
    except DubanError as exc:
        return _refused(request, web, viewer, exc, item=f"{kind}-{number}", posted=posted)
    return RedirectResponse(f"/pressure?done={done}", status_code=303)


@router.post("/pressure/proposals/{proposal_id}")
def decide(request: Request, proposal_id: str, posted: Posted) -> Response:
    return _decided(request, "proposal", proposal_id, posted, "decide_pressure", lambda ctx, number, actor: (
        proposals.decide(ctx, number, actor=actor, decision=posted.get("decision", ""),
                         action=posted.get("action") or None, reason=posted.get("reason", "")[:5000])))


@router.post("/pressure/interviews/{interview_id}")
def held(request: Request, interview_id: str, posted: Posted) -> Response:
    return _decided(request, "interview", interview_id, posted, "hold_interview", lambda ctx, number, actor: (
        proposals.record_interview_held(ctx, number, actor=actor, held_on=_date(posted.get("held_on", "")),
                                        minutes=posted.get("minutes", "")[:30000])))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        kind = "missing" if not text.strip() else "date_parsing"
        raise InvalidActionInput(action="hold_interview", field="held_on", kind=kind,
                                 message="a date, as 2023-03-24") from exc
