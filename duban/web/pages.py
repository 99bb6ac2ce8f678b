"""Sign-in, the inbox each role starts from, the dashboard, and the slots for reports.

Each role's inbox is a few work queues (sections) of the cases it may see, most urgent first:
a unit's open cases, the office's triage queue, the reviewer's reports awaiting review and
returned cases, a leader's overdue list.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from duban.errors import AuthenticationFailed
from duban.services.dashboard import dashboard
from duban.services.queries import CaseRow, list_cases, scope_for
from duban.services.users import authenticate
from duban.web.forms import posted_form
from duban.web.render import Viewer, Web, safe_next
from duban.web.session import Sessions

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]

SECTION_SIZE = 50

# Work queues: (key, filter, link to the whole list). Headings are in inbox.html.
QUEUES: dict[str, dict[str, Any]] = {
    "mine": {"open_only": True},
    "triage": {"state": "received"},
    "review": {"state": "reported"},
    "returned": {"state": "returned"},
    "callback": {"state": "verified"},
    "overdue": {"overdue": True, "open_only": True},
}
MORE = {"mine": "/cases?open=1", "overdue": "/cases?overdue=1&open=1"}
INBOX = {
    "unit": ["mine"],
    "clerk": ["triage", "callback"],
    "dispatcher": ["triage", "returned", "overdue"],
    "supervisor": ["review", "returned", "callback"],
    "leader": ["overdue"],
    "admin": ["triage", "review", "returned", "callback"],
}


@dataclass
class Section:
    key: str
    rows: list[CaseRow]
    more: str  # link to the whole queue, when it has more than the section shows


def web_of(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/inbox") -> Response:
    web = web_of(request)
    if web.viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, web, next=safe_next(next))


def _login_form(request: Request, web: Web, *, next: str, username: str = "", failed: str = "",
                status: int = 200) -> Response:
    session = web.sessions.load(request) or Sessions.new()
    response = web.render(request, "login.html", viewer=None, status=status, next=next,
                          csrf=web.sessions.csrf_token(session), username=username, failed=failed)
    web.sessions.save(response, session, secure=_secure(request))
    return response


@router.post("/login")
def login(request: Request, posted: Posted) -> Response:
    web = web_of(request)
    errors = web.ctx.labels.errors
    target = safe_next(posted.get("next"))
    username = posted.get("username", "")[:60]
    if not web.sessions.csrf_ok(web.sessions.load(request), posted.get("csrf")):
        return _login_form(request, web, next=target, username=username, failed=errors["csrf_failed"],
                           status=403)
    try:
        user = authenticate(web.ctx, username, posted.get("password", "")[:200])
    except AuthenticationFailed:
        return _login_form(request, web, next=target, username=username,
                           failed=errors["authentication_failed"], status=401)
    response = RedirectResponse(target, status_code=303)
    web.sessions.save(response, Sessions.new(user.id), secure=_secure(request))  # a fresh nonce
    return response


@router.post("/logout")
def logout(request: Request, posted: Posted) -> Response:
    web = web_of(request)
    response = RedirectResponse("/login", status_code=303)
    if web.sessions.csrf_ok(web.sessions.load(request), posted.get("csrf")):
        web.sessions.clear(response)
    return response


def _section(web: Web, viewer: Viewer, key: str) -> Section:
    from sqlmodel import Session

    with Session(web.ctx.engine) as session:
        flt = scope_for(session, viewer.actor)
    for name, value in QUEUES[key].items():
        setattr(flt, name, value)
    flt.limit = SECTION_SIZE + 1
    rows = list_cases(web.ctx, flt, viewer=viewer.actor)
    more = len(rows) > SECTION_SIZE
    link = MORE.get(key) or f"/cases?state={QUEUES[key]['state']}"
    return Section(key=key, rows=rows[:SECTION_SIZE], more=link if more else "")


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    sections = [_section(web, viewer, key) for key in INBOX.get(viewer.role, [])]
    flash = web.ctx.labels.actions.get(request.query_params.get("done", ""), "")
    return web.render(request, "inbox.html", viewer=viewer, sections=sections, flash=flash)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    board = dashboard(web.ctx, viewer.actor)
    return web.render(request, "dashboard.html", viewer=viewer, board=board, scope_name=viewer.org.name)


def _reports_renderer(name: str) -> Callable[..., str] | None:
    """duban.reports' page renderer, when that module is installed and provides it."""
    try:
        module = importlib.import_module("duban.reports")
    except ModuleNotFoundError as exc:
        if exc.name != "duban.reports":
            raise
        return None
    return getattr(module, name, None)


def _report_slot(request: Request, renderer: str, slot: str) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    render = _reports_renderer(renderer)
    if render is None:
        return web.render(request, "placeholder.html", viewer=viewer, slot=slot)
    body = render(web.ctx, viewer=viewer.actor, query=dict(request.query_params))
    return web.render(request, "embedded.html", viewer=viewer, slot=slot, body=body)


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request) -> Response:
    return _report_slot(request, "render_report_html", "reports")


@router.get("/board", response_class=HTMLResponse)
def board(request: Request) -> Response:
    return _report_slot(request, "render_board_html", "board")
