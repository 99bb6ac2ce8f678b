"""Sign-in, the inbox each role starts from, the dashboard, and the slots for reports.

Each role's inbox is a few work queues (sections) of the cases it may see, most urgent first:
a unit's cases to sign for (待签收) and its open cases, the office's 退单 requests and triage
queue, the reviewer's reports awaiting review and returned cases, a leader's overdue list.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from duban.errors import AuthenticationFailed, InvalidActionInput, PermissionDenied, TooManyAttempts
from duban.present.problems import field_message
from duban.services.dashboard import dashboard
from duban.services.extqueue import pending_extension_count, pending_extensions
from duban.services.outboxview import OFFICE_ROLES, count_mail, list_mail
from duban.services.proposals import open_proposal_count
from duban.services.queries import CaseRow
from duban.services.reading import list_cases, scope
from duban.services.throttle import change_password_counted, sign_in
from duban.services.users import sign_out
from duban.web.forms import posted_form
from duban.web.render import CSP_INLINE_STYLE, Viewer, Web, safe_next
from duban.web.session import Sessions

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]

SECTION_SIZE = 50
COUNT_TTL = 60.0  # seconds the navigation's inbox count is kept per user (an action forgets it)

# Work queues: (key, filter, link to the whole list). Headings are in inbox.html.
# held: the queues of work only show what the viewer's office holds (its office of record), not a
# case an office above took over; the overdue list is for watching, and shows both.
QUEUES: dict[str, dict[str, Any]] = {
    "mine": {"open_only": True},
    "triage": {"state": "received", "held": True},
    "review": {"state": "reported", "held": True},
    "returned": {"state": "returned", "held": True},
    "callback": {"state": "verified", "held": True},
    # 复查 / 复核 the viewer's office decides (it is the office above the case's office of record).
    "reviewing": {"reviewing": True},
    "overdue": {"overdue": True, "open_only": True},
    "unsigned": {"unsigned": True},  # 待签收
    "return_requests": {"return_pending": True, "held": True},  # 退单申请 awaiting the dispatcher
    # 二次交办: its departments' reports waiting for the government's review.
    "delegate_review": {"delegate_review": True, "open_only": True},
}
MORE = {"mine": "/cases?open=1", "overdue": "/cases?overdue=1&open=1", "unsigned": "/cases?unsigned=1",
        "return_requests": "/cases?return_pending=1", "reviewing": "/cases?state=reexamination",
        "delegate_review": "/cases?open=1"}
INBOX = {
    "unit": ["unsigned", "delegate_review", "mine"],
    "clerk": ["triage", "callback"],
    "dispatcher": ["return_requests", "triage", "returned", "overdue"],
    "supervisor": ["review", "returned", "callback", "reviewing"],
    "leader": ["overdue"],
    "admin": ["return_requests", "triage", "review", "returned", "callback", "reviewing"],
}


@dataclass
class Section:
    key: str
    rows: list[CaseRow]
    more: str  # link to the whole queue, when it has more than the section shows


def web_of(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


def _secure(request: Request) -> bool:
    """Secure cookies over HTTPS, and always when DUBAN_COOKIE_SECURE is set (behind a TLS proxy)."""
    return request.url.scheme == "https" or web_of(request).cookie_secure


@router.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/inbox", changed: str = "") -> Response:
    web = web_of(request)
    if web.viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, web, next=safe_next(next), changed=changed == "1")


def _login_form(request: Request, web: Web, *, next: str, username: str = "", failed: str = "",
                status: int = 200, changed: bool = False) -> Response:
    session = web.sessions.load(request) or Sessions.new()
    response = web.render(request, "login.html", viewer=None, status=status, next=next, changed=changed,
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
        user = sign_in(web.ctx, request.app.state.login_throttle, username=username,
                       password=posted.get("password", "")[:200],
                       address=request.client.host if request.client else None)
    except TooManyAttempts as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        response = _login_form(request, web, next=target, username=username, status=429,
                               failed=errors["too_many_attempts"].format(minutes=minutes))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationFailed as exc:  # AccountDisabled too, with its own message
        return _login_form(request, web, next=target, username=username,
                           failed=errors.get(exc.code, errors["authentication_failed"]), status=401)
    response = RedirectResponse(target, status_code=303)
    web.sessions.save(response, Sessions.new(user.id, user.session_epoch),  # a fresh nonce
                      secure=_secure(request))
    return response


@router.post("/logout")
def logout(request: Request, posted: Posted) -> Response:
    """Sign out: every session and token of the user ends, on every device and worker."""
    web = web_of(request)
    response = RedirectResponse("/login", status_code=303)
    if web.sessions.csrf_ok(web.sessions.load(request), posted.get("csrf")):
        viewer = web.viewer(request)
        if viewer is not None and viewer.user.id is not None:
            sign_out(web.ctx, viewer.user.id)
        web.sessions.clear(response)
    return response


def _password_form(request: Request, web: Web, viewer: Viewer, *, failed: str = "", field: str = "",
                   status: int = 200) -> Response:
    rules = web.ctx.policy.sign_in
    return web.render(request, "password.html", viewer=viewer, status=status, failed=failed, field=field,
                      min_length=rules.min_length, max_length=rules.max_length)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request) -> Response:
    web = web_of(request)
    return _password_form(request, web, web.require(request))


@router.post("/account/password")
def change_password_page(request: Request, posted: Posted) -> Response:
    """A new password: every session of the user ends, this one too; sign in again with it."""
    web = web_of(request)
    viewer = web.require(request)
    errors = web.ctx.labels.errors
    if not web.sessions.csrf_ok(viewer.session, posted.get("csrf")):
        return _password_form(request, web, viewer, failed=errors["csrf_failed"], status=403)
    new = posted.get("new_password", "")
    if new != posted.get("new_password2", ""):
        return _password_form(request, web, viewer, failed=errors["password_mismatch"], field="new_password2",
                              status=422)
    try:
        change_password_counted(web.ctx, request.app.state.login_throttle, user=viewer.user,
                                current=posted.get("current_password", "")[:1000], new=new,
                                address=request.client.host if request.client else None)
    except TooManyAttempts as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        response = _password_form(request, web, viewer, status=429,
                                  failed=errors["too_many_attempts"].format(minutes=minutes))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except InvalidActionInput as exc:
        message = field_message(web.ctx.labels, field=exc.field, kind=exc.kind, message=exc.message,
                                limits=exc.limits)
        return _password_form(request, web, viewer, failed=message, field=exc.field, status=422)
    response = RedirectResponse("/login?changed=1", status_code=303)
    web.sessions.clear(response)
    return response


def _section(web: Web, viewer: Viewer, key: str) -> Section:
    flt = scope(web.ctx, actor=viewer.actor)
    for name, value in QUEUES[key].items():
        setattr(flt, name, value)
    flt.limit = SECTION_SIZE + 1
    rows = list_cases(web.ctx, flt, actor=viewer.actor)
    more = len(rows) > SECTION_SIZE
    link = MORE.get(key) or f"/cases?state={QUEUES[key]['state']}"
    return Section(key=key, rows=rows[:SECTION_SIZE], more=link if more else "")


def _has_queue(web: Web, viewer: Viewer, key: str) -> bool:
    """A queue the viewer's org can have work in: its departments' reports only for a government."""
    if key != "delegate_review":
        return True
    org_id = viewer.actor.org_id
    return org_id is not None and (web.ctx.orgs.by_id(org_id).kind
                                   in web.ctx.policy.delegation.allowed_from_kinds)


def _sections(web: Web, viewer: Viewer) -> list[Section]:
    return [_section(web, viewer, key) for key in INBOX.get(viewer.role, []) if _has_queue(web, viewer, key)]


def _remember_count(web: Web, viewer: Viewer, sections: list[Section], extensions: int | None) -> str:
    """What the navigation shows beside 我的工作台: the cases in the viewer's work queues (a queue
    longer than a section counts as its section, with "+"), and extension requests to decide."""
    total = sum(len(s.rows) for s in sections) + (extensions or 0)
    text = f"{total}+" if any(s.more for s in sections) else str(total) if total else ""
    if viewer.user.id is not None:
        web.inbox_counts[viewer.user.id] = (time.monotonic(), text)
    return text


def _kept_count(web: Web, user_id: int | None) -> str | None:
    """The user's inbox count while it is kept (COUNT_TTL seconds), else None."""
    hit = web.inbox_counts.get(user_id or 0)
    return hit[1] if hit is not None and time.monotonic() - hit[0] < COUNT_TTL else None


def count_kept(web: Web, request: Request) -> bool:
    """Whether the navigation's inbox count of the request's signed-in user is kept: a page that
    shows it then reads no work queue (a queue of a province's cases is a count over many)."""
    session = web.sessions.load(request)
    return session is not None and _kept_count(web, session.user_id) is not None


def inbox_count(web: Web, viewer: Viewer) -> str:
    """The navigation's inbox count, kept COUNT_TTL seconds per user (the inbox page, and any
    action the user takes, renew it)."""
    kept = _kept_count(web, viewer.user.id)
    if kept is not None:
        return kept
    return _remember_count(web, viewer, _sections(web, viewer),
                           pending_extension_count(web.ctx, actor=viewer.actor))


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    sections = _sections(web, viewer)
    flash = web.ctx.labels.actions.get(request.query_params.get("done", ""), "")
    # 延期 waiting for this approver (office of record): its own queue, not case rows.
    extensions: tuple[list[Any], int] | None = None
    if viewer.role in web.ctx.policy.roles.get("approve_extension", []):
        extensions = pending_extensions(web.ctx, actor=viewer.actor, limit=SECTION_SIZE)
    _remember_count(web, viewer, sections, extensions[1] if extensions else None)
    return web.render(request, "inbox.html", viewer=viewer, sections=sections, flash=flash,
                      extensions=extensions)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    board = dashboard(web.ctx, viewer.actor)
    # Mail the server refused for good is the office's to see (an administrator resends it).
    failed_mail, failed_count = [], 0
    if viewer.role in OFFICE_ROLES:
        failed_mail = list_mail(web.ctx, viewer.actor, status="failed", limit=SECTION_SIZE)
        failed_count = count_mail(web.ctx, viewer.actor, status="failed")
    return web.render(request, "dashboard.html", viewer=viewer, board=board, scope_name=viewer.org.name,
                      failed_mail=failed_mail, failed_count=failed_count,
                      proposal_count=open_proposal_count(web.ctx, actor=viewer.actor),
                      extension_count=pending_extension_count(web.ctx, actor=viewer.actor))


def _reports_html() -> Any | None:
    """duban.reports' HTML renderers, when that package is installed (a placeholder page otherwise)."""
    try:
        return importlib.import_module("duban.reports.html")
    except ModuleNotFoundError as exc:
        if exc.name not in ("duban.reports", "duban.reports.html"):
            raise
        return None


def _reader(request: Request) -> Viewer:
    """Reports and the board are the offices' and leaders' (a unit has its inbox)."""
    viewer = web_of(request).require(request)
    if viewer.role == "unit":
        raise PermissionDenied(action="reports", role=viewer.role,
                               allowed_roles=sorted(set(INBOX) - {"unit"}))
    return viewer


def _case_link(number: str) -> str:
    return f"/cases/{quote(number)}"


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request) -> Response:
    web = web_of(request)
    viewer = _reader(request)
    html = _reports_html()
    if html is None:
        return web.render(request, "placeholder.html", viewer=viewer, slot="reports")
    from duban.reports import build_report, parse_period
    from duban.reports.period import current

    text = (request.query_params.get("period") or "").strip()[:40]
    # The month so far by default: "everything up to now" scans all history.
    period = parse_period(text) if text else current("month", web.ctx.today())
    report = build_report(web.ctx, period, viewer.org.code)
    return _embedded(request, viewer, "reports", html.render_report_html(report, case_link=_case_link),
                     period=text)


@router.get("/board", response_class=HTMLResponse)
def board(request: Request) -> Response:
    web = web_of(request)
    viewer = _reader(request)
    html = _reports_html()
    if html is None:
        return web.render(request, "placeholder.html", viewer=viewer, slot="board")
    from duban.reports import build_board

    body = html.render_board_html(build_board(web.ctx, viewer.org.code), case_link=_case_link)
    return _embedded(request, viewer, "board", body, period="")


def _embedded(request: Request, viewer: Viewer, slot: str, fragment: str, *, period: str) -> Response:
    """A report or the board inside the site's page, its inline style allowed. Reports name cases
    by their redacted titles (duban.services.reading.report_title): nothing to mask afterwards."""
    web = web_of(request)
    response = web.render(request, "embedded.html", viewer=viewer, slot=slot,
                          body=fragment, period=period)
    response.headers["Content-Security-Policy"] = CSP_INLINE_STYLE
    return response
