"""Account administration for administrators (policy `[roles] manage_users`): add a user, change
their name, role and org, set a new password, disable and enable them.

The same service functions as `duban user` (services/users.py), so the rules are the same: a unit
user belongs to a handling unit and everyone else to an office; a new password, a new role or org
and disabling end every session and token of the user at once. An administrator sees and changes
the accounts of their own region only, never their own role, org, password or state, and never
leaves no administrator (services/accountreach.py). Each change is an event of the
account record with the administrator who made it (services/accountaudit.py), shown on the user's
page as its history, as the CLI's are with its operator.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from duban.errors import InvalidActionInput, PermissionDenied
from duban.models import User
from duban.present.accounts import change_text
from duban.services.accountaudit import history
from duban.services.accountreach import Reach, reach_of
from duban.services.users import (
    ROLES,
    create_user,
    set_active,
    set_password,
    sign_out_user,
    update_user,
    user_named,
    users_with_orgs,
)
from duban.web.forms import input_message, posted_form
from duban.web.pages import web_of
from duban.web.render import Viewer, Web
from duban.web.units import LIST_ID as ORG_LIST

router = APIRouter(include_in_schema=False)
Posted = Annotated[dict[str, str], Depends(posted_form)]
ACTION = "manage_users"


def _admin(request: Request, web: Web) -> tuple[Viewer, Reach]:
    """The viewer, if their role manages accounts, and the accounts they reach; others get a 403 page."""
    viewer = web.require(request)
    roles = web.ctx.policy.roles.get(ACTION, [])
    if viewer.role not in roles:
        raise PermissionDenied(action=ACTION, role=viewer.role, allowed_roles=roles)
    return viewer, reach_of(web.ctx, viewer.user)


def _refused(web: Web, exc: InvalidActionInput, kept: dict[str, str]) -> dict[str, str]:
    """The field's problem in Chinese; the refused org is not shown back (nor is any password)."""
    if exc.field == "org_code":
        kept["org_code"] = ""
    return {exc.field: _message(web, exc)}


def _message(web: Web, exc: InvalidActionInput) -> str:
    return input_message(web.ctx.labels, exc)


def _org_code(web: Web, typed: str, reach: Reach) -> str:
    """The org typed into the picker (a code, a name or "名称（代码）") read to its code."""
    if not typed.strip():
        raise InvalidActionInput(action="user", field="org_code", kind="missing", message="required")
    return web.units.resolve(typed, action="user", region=reach.region, field="org_code")


def _named(display_name: str) -> str:
    """The display name pages show for the user in timelines: the admin pages ask for one."""
    if not display_name.strip():
        raise InvalidActionInput(action="user", field="display_name", kind="missing", message="required")
    return display_name


def _org_label(web: Web, org_id: int) -> str:
    org = web.ctx.orgs.by_id(org_id)
    return f"{org.name}（{org.code}）"


def _list_page(request: Request, web: Web, viewer: Viewer, reach: Reach, *,
               values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, status: int = 200, flash: str = "") -> Response:
    users = [user for user, _ in users_with_orgs(web.ctx, reach=reach)]
    return web.render(request, "admin_users.html", viewer=viewer, users=users, roles=ROLES,
                      values=values or {}, reach=reach,
                      errors=errors or {}, org_label=lambda i: _org_label(web, i), status=status, flash=flash,
                      org_list=ORG_LIST, org_options=web.units.options(reach.region))


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request) -> Response:
    web = web_of(request)
    viewer, reach = _admin(request, web)
    done = request.query_params.get("done", "")
    flash = web.ctx.labels.text.get(f"admin_{done}", "") if done else ""
    return _list_page(request, web, viewer, reach, flash=flash)


def _csrf_refused(web: Web, viewer: Viewer, posted: dict[str, str]) -> bool:
    return not web.sessions.csrf_ok(viewer.session, posted.get("csrf"))


def _refused_form(request: Request, web: Web) -> Response:
    return web.csrf_refused(request)


@router.post("/admin/users")
def add_user(request: Request, posted: Posted) -> Response:
    web = web_of(request)
    viewer, reach = _admin(request, web)
    if _csrf_refused(web, viewer, posted):
        return _refused_form(request, web)
    kept = {k: posted.get(k, "") for k in ("username", "display_name", "role", "org_code")}
    try:
        if posted.get("password", "") != posted.get("password2", ""):
            raise InvalidActionInput(action="user", field="password2", kind="password_mismatch", message="")
        create_user(web.ctx, username=kept["username"].strip(), password=posted.get("password", ""),
                    role=kept["role"], org_code=_org_code(web, kept["org_code"], reach),
                    display_name=_named(kept["display_name"]), by=viewer.user.username, by_role=viewer.role,
                    reach=reach)
    except InvalidActionInput as exc:
        return _list_page(request, web, viewer, reach, values=kept, errors=_refused(web, exc, kept),
                          status=422)
    web.people.forget()
    return RedirectResponse("/admin/users?done=added", status_code=303)


def _user(web: Web, username: str, reach: Reach) -> User:
    """The account, if it is within the administrator's reach (404 otherwise, as if not there)."""
    return user_named(web.ctx, username, reach=reach)


def _user_page(request: Request, web: Web, viewer: Viewer, reach: Reach, user: User, *,
               values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, status: int = 200, flash: str = "") -> Response:
    shown: dict[str, Any] = {"display_name": user.display_name, "role": user.role,
                             "org_code": _org_label(web, user.org_id), **(values or {})}
    labels = web.ctx.labels
    changes = [{**event, "text": change_text(labels, event),
                "by": web.people.name(event["actor"])}
               for event in reversed(history(web.ctx, user.username))]
    return web.render(request, "admin_user.html", viewer=viewer, user=user, roles=ROLES, values=shown,
                      changes=changes,
                      errors=errors or {}, status=status, flash=flash, org_list=ORG_LIST,
                      org_options=web.units.options(reach.region), myself=user.id == viewer.user.id)


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, username: str) -> Response:
    web = web_of(request)
    viewer, reach = _admin(request, web)
    done = request.query_params.get("done", "")
    flash = web.ctx.labels.text.get(f"admin_{done}", "") if done else ""
    return _user_page(request, web, viewer, reach, _user(web, username, reach), flash=flash)


@router.post("/admin/users/{username}")
def change_user(request: Request, username: str, posted: Posted) -> Response:
    """A user's name, role and org; a new role or org ends their sessions."""
    web = web_of(request)
    viewer, reach = _admin(request, web)
    user = _user(web, username, reach)
    if _csrf_refused(web, viewer, posted):
        return _refused_form(request, web)
    kept = {k: posted.get(k, "") for k in ("display_name", "role", "org_code")}
    try:
        org_code = _org_code(web, kept["org_code"], reach)
        update_user(web.ctx, user.username, role=kept["role"], org_code=org_code,
                    display_name=_named(kept["display_name"]), by=viewer.user.username, by_role=viewer.role,
                    reach=reach)
    except InvalidActionInput as exc:
        return _user_page(request, web, viewer, reach, user, values=kept, errors=_refused(web, exc, kept),
                          status=422)
    web.people.forget()
    return RedirectResponse(f"/admin/users/{user.username}?done=changed", status_code=303)


@router.post("/admin/users/{username}/password")
def reset_password(request: Request, username: str, posted: Posted) -> Response:
    """A new password for the user: every session and token of theirs ends at once."""
    web = web_of(request)
    viewer, reach = _admin(request, web)
    user = _user(web, username, reach)
    if _csrf_refused(web, viewer, posted):
        return _refused_form(request, web)
    try:
        if posted.get("password", "") != posted.get("password2", ""):
            raise InvalidActionInput(action="user", field="password2", kind="password_mismatch", message="")
        set_password(web.ctx, user.username, posted.get("password", ""), by=viewer.user.username,
                     by_role=viewer.role, reach=reach)
    except InvalidActionInput as exc:
        return _user_page(request, web, viewer, reach, user, errors={exc.field: _message(web, exc)},
                          status=422)
    return RedirectResponse(f"/admin/users/{user.username}?done=password", status_code=303)


@router.post("/admin/users/{username}/active")
def switch_user(request: Request, username: str, posted: Posted) -> Response:
    """Disable (every session ends, signing in is refused) or enable a user; never oneself."""
    web = web_of(request)
    viewer, reach = _admin(request, web)
    user = _user(web, username, reach)
    if _csrf_refused(web, viewer, posted):
        return _refused_form(request, web)
    active = posted.get("active") == "1"
    try:
        if posted.get("active") not in ("0", "1"):  # "true", "on" or nothing: not read as "disable"
            raise InvalidActionInput(action="user", field="active", kind="invalid", message="must be 0 or 1")
        set_active(web.ctx, user.username, active, by=viewer.user.username, by_role=viewer.role, reach=reach)
    except InvalidActionInput as exc:
        return _user_page(request, web, viewer, reach, user, errors={"active": _message(web, exc)},
                          status=422)
    return RedirectResponse(f"/admin/users/{user.username}?done={'enabled' if active else 'disabled'}",
                            status_code=303)


@router.post("/admin/users/{username}/sign-out")
def end_user_sessions(request: Request, username: str, posted: Posted) -> Response:
    """End every page session and token of the user (they may sign in again)."""
    web = web_of(request)
    viewer, reach = _admin(request, web)
    user = _user(web, username, reach)
    if _csrf_refused(web, viewer, posted):
        return _refused_form(request, web)
    sign_out_user(web.ctx, user.username, by=viewer.user.username, by_role=viewer.role, reach=reach)
    return RedirectResponse(f"/admin/users/{user.username}?done=signed_out", status_code=303)
