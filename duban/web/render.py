"""Rendering pages: who is looking, the templates with their filters, and the error page.

Everything a person reads comes from the templates (page text) and labels.toml (codes, fields,
messages); this module only wires them together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.templating import Jinja2Templates

from duban.clock import shanghai
from duban.models import User
from duban.present.problems import Problem
from duban.services.callbackdesk import my_open_callbacks
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.users import actor_of, signed_in_user
from duban.shown import finalize
from duban.web.people import PeopleNames
from duban.web.session import LoginRequired, Sessions, WebSession
from duban.web.units import UnitPicker

# Pages are plain HTML and one stylesheet: nothing inline, nothing from elsewhere, no script.
CSP = ("default-src 'self'; style-src 'self'; script-src 'none'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
# duban.reports' sections carry their own <style> and SVG charts with style attributes.
CSP_INLINE_STYLE = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person looking at a page."""

    user: User
    org: OrgInfo
    actor: Actor
    session: WebSession
    csrf: str

    @property
    def role(self) -> str:
        return self.user.role


# China has kept UTC+8 all year since its last summer time ended in September 1991: a fixed
# offset converts every later instant as Asia/Shanghai does, in a fraction of zoneinfo's time.
_UTC8 = dt.timezone(dt.timedelta(hours=8))
_FIXED_SINCE = dt.datetime(1992, 1, 1, tzinfo=dt.UTC)


def _local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    at = value.astimezone(_UTC8) if value.tzinfo is not None and value >= _FIXED_SINCE else shanghai(value)
    if fmt == "%Y-%m-%d %H:%M":  # the common case, without strftime's per-call parsing
        return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}"
    return at.strftime(fmt)


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, reading `d.case` of a plain dict as an item first.

    Jinja tries `getattr` before the item, and every dict key a template names (the case page's
    are nearly all dicts: each timeline row's six fields) raised and caught an AttributeError
    first. Names of dict's own attributes (`get`, `items`) still mean the method, whatever keys
    a posted form brought.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        try:  # Environment.getattr inlined: templates read thousands of attributes a page
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


class Web:
    """Pages' shared state: the service context, the session signer and the templates."""

    def __init__(self, ctx: ServiceContext, secret: str, *, cookie_secure: bool = False) -> None:
        self.ctx = ctx
        self.sessions = Sessions(secret)
        self.cookie_secure = cookie_secure  # DUBAN_COOKIE_SECURE: Secure cookies even over plain HTTP
        env = _Environment(loader=PackageLoader("duban.web", "templates"),
                          autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                          finalize=finalize,  # typed text shown without what acts on its line
                          trim_blocks=True, lstrip_blocks=True,
                          auto_reload=False)  # templates are package data: no stat() per render
        labels = ctx.labels
        env.filters["local"] = _local
        env.filters["label"] = lambda key, table: labels.of(table, key)
        env.globals["my_callbacks"] = lambda viewer: my_open_callbacks(ctx, actor=viewer.actor)  # navigation
        env.globals["labels"] = labels
        env.globals["may"] = lambda viewer, action: viewer is not None and viewer.role in (
            ctx.policy.roles.get(action, []))
        self.people = PeopleNames(ctx)
        env.globals["person"] = self.people.name  # a user name as the display name people know
        env.globals["inbox_count"] = self.inbox_count
        self.inbox_counts: dict[int, tuple[float, str]] = {}  # user id → (when, count): pages.py
        self.templates = Jinja2Templates(env=env)
        self.units = UnitPicker(ctx.orgs)

    def inbox_count(self, viewer: Viewer) -> str:
        """The count beside 我的工作台 in the navigation (pages.inbox_count)."""
        from duban.web.pages import inbox_count  # pages builds on this module

        return inbox_count(self, viewer)

    def forget_inbox_count(self, viewer: Viewer) -> None:
        """After the viewer acted: the next page counts their queues afresh."""
        self.inbox_counts.pop(viewer.user.id or 0, None)

    def viewer(self, request: Request) -> Viewer | None:
        session = self.sessions.load(request)
        if session is None or session.user_id is None:
            return None
        user = signed_in_user(self.ctx, session.user_id, epoch=session.epoch)  # None once signed out
        if user is None:
            return None
        org = self.ctx.orgs.by_id(user.org_id)  # the directory in memory: no query per page
        return Viewer(user=user, org=org, actor=actor_of(user), session=session,
                      csrf=self.sessions.csrf_token(session))

    def require(self, request: Request) -> Viewer:
        viewer = self.viewer(request)
        if viewer is None:
            raise LoginRequired()
        return viewer

    def render(self, request: Request, template: str, *, viewer: Viewer | None, status: int = 200,
               **context: Any) -> HTMLResponse:
        context.setdefault("flash", "")
        context.setdefault("problem", None)
        return self.templates.TemplateResponse(request, template, {"viewer": viewer, **context},
                                               status_code=status)

    def csrf_refused(self, request: Request) -> Response:
        """The page for a form whose token is missing, of another session or expired (403)."""
        return self.error_page(request, Problem(status=403, code="csrf_failed",
                                                message="the form expired; reload the page",
                                                message_zh=self.ctx.labels.errors["csrf_failed"]))

    def error_page(self, request: Request, problem: Problem) -> Response:
        if problem.status == 401:
            return login_redirect(request)
        viewer = self.viewer(request)
        return self.render(request, "error.html", viewer=viewer, status=problem.status, problem=problem)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL a phishing link could smuggle in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(safe_next(target), safe='')}", status_code=303)
