"""The web application: the JSON API under /api, the Chinese pages, and the scheduler's lifetime.

`create_app(ctx)` builds everything from one service context, so tests, the benchmark and
`duban serve` run the same application on whatever database the context holds.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duban.accesslog import install as install_access_log_filter
from duban.api import (
    apidocs,
    attachments,
    auth,
    bulk,
    callbacks,
    cases,
    documents,
    extensions,
    meta,
    notifications,
    orgs,
    pressure,
)
from duban.api.errors import install as install_error_handlers
from duban.api.errors import is_api
from duban.api.openapi import install as install_openapi
from duban.config.public import load_public
from duban.config.settings import Settings, get_settings
from duban.present.problems import Problem, field_message
from duban.present.textcheck import BROKEN_TEXT, BROKEN_TEXT_MESSAGE, public_name
from duban.services.context import ServiceContext
from duban.services.online import Limiter
from duban.services.throttle import LoginThrottle
from duban.services.users import secret_key
from duban.web import (
    adminpages,
    attachpages,
    callbackpages,
    casepages,
    docpages,
    pages,
    pressurepages,
    public,
)
from duban.web.render import CSP, Web, login_redirect
from duban.web.session import LoginRequired

log = logging.getLogger(__name__)

# The largest request body accepted: a 20,000-character report, percent-encoded, is ~180 KB.
MAX_BODY = 512 * 1024
GZIP_MINIMUM = 1024  # bytes: below this a page goes out as it is
GZIP_LEVEL = 1

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CSP,
    # Case data is confidential: never kept by a shared cache or the browser's back button.
    "Cache-Control": "no-store",
}
# Only over HTTPS (or with DUBAN_COOKIE_SECURE, behind a TLS proxy): over plain HTTP it would be
# ignored by browsers anyway, and a local demo must stay reachable as http://127.0.0.1.
HSTS = (b"strict-transport-security", b"max-age=31536000")


# The forms and routes that take attachments (services/attachments.py), as multipart: their
# bodies may be as large as policy [attachments] allows files, besides the form's fields.
UPLOADS = re.compile(r"/api/cases/(new|[^/]+/actions/[^/]+)/with-files|/cases/(new|[^/]+/actions/[^/]+)")


def body_limit(scope: Scope, limit: int) -> int:
    """The most this request's body may hold: `limit`, or more for a multipart upload."""
    if scope.get("method") != "POST" or not UPLOADS.fullmatch(scope.get("path", "")):
        return limit
    kind = dict(scope.get("headers") or []).get(b"content-type", b"")
    if not kind.lower().startswith(b"multipart/form-data"):
        return limit
    rule = scope["app"].state.ctx.policy.attachments
    return limit + rule.max_files * (rule.max_bytes + 4096)  # 4 KB a part for its headers


class BodyLimit:
    """Refuse request bodies over MAX_BODY (an upload: over what policy [attachments] allows)
    with 413 before anyone reads them into memory."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, self.limit)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(scope, receive, send, limit)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        app = scope.get("app")
        labels = app.state.ctx.labels if app is not None else None
        zh = labels.errors.get("too_large", "").format(limit=limit) if labels else ""
        body = {"code": "too_large", "message": f"the request body is over {limit} bytes",
                "message_zh": zh}
        await JSONResponse(body, status_code=413)(scope, receive, send)


class _TooLarge(BaseException):
    """A BaseException, so that FastAPI's body parsing (which turns any Exception into a 400)
    lets it through to BodyLimit, which answers 413."""


def broken_url_part(scope: Scope) -> str | None:
    """The query parameter (or "path") holding a NUL byte or a lone surrogate, if any."""
    if BROKEN_TEXT.search(scope.get("path", "")):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if BROKEN_TEXT.search(name) or BROKEN_TEXT.search(value):
            return public_name(BROKEN_TEXT.sub("", name), "query")  # a made-up name is not repeated
    return None


class BrokenText:
    """Refuse NUL bytes in the path or query string with 422 naming the parameter, for the API and
    the pages alike, before a filter carries one to the database (PostgreSQL: a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        field = broken_url_part(scope) if scope["type"] == "http" else None
        if field is None:
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        zh = field_message(app.state.ctx.labels, field=field, kind="broken_text", message=BROKEN_TEXT_MESSAGE)
        problem = Problem(status=422, code="invalid_input", message=f"field '{field}': {BROKEN_TEXT_MESSAGE}",
                          message_zh=zh, field=field)
        request = Request(scope, receive)
        if is_api(request):
            response: Response = JSONResponse(problem.body(), status_code=422)
        else:
            response = app.state.web.error_page(request, problem)
        await response(scope, receive, send)


class PageGZip:
    """gzip for the pages (not the JSON API, whose answers are small and whose clients are
    programs): a case page is about seven times smaller. Level 1: higher levels saved a few
    per cent more bytes for several times the CPU (docs/bench.md). Pages carry a CSRF token,
    masked afresh on each page (web/session.py), so compressed sizes do not reveal it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/api/"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class SecurityHeaders:
    """Add SECURITY_HEADERS to every answer that does not set its own (static files may be cached).

    Outermost but for Starlette's ServerErrorMiddleware, whose 500 for an exception nobody
    handled would go out bare: so an exception that reaches this middleware before the answer
    has started is answered here (500, `internal_error`, headers and all) and logged.
    """

    def __init__(self, app: ASGIApp, *, https_only: bool = False) -> None:
        self.app = app
        self.https_only = https_only
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        self.static = [h for h in self.headers if h[0] != b"cache-control"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.static if scope["path"].startswith("/static/") else self.headers
        if self.https_only or scope.get("scheme") == "https":
            extra = [*extra, HSTS]

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:
                raise  # half an answer is out: nothing better to do than let the server cut it
            # The route's template, not the path: a path may hold whatever a caller typed.
            route = getattr(scope.get("route"), "path", "(no route)")
            log.exception("unhandled error on %s %s", scope.get("method"), route)
            await internal_error(scope)(scope, receive, send_with_headers)


def internal_error(scope: Scope) -> Response:
    """The answer to a bug: no traceback and nothing of the request, in both languages."""
    app = scope.get("app")
    labels = app.state.ctx.labels if app is not None else None
    zh = labels.errors.get("internal_error", "") if labels else ""
    problem = Problem(status=500, code="internal_error", message_zh=zh,
                      message="the server failed to answer; try again, tell its administrator if it recurs")
    if scope.get("path", "").startswith("/api"):
        return JSONResponse(problem.body(), status_code=500)
    # A page without the layout: rendering it could need the very database that just failed.
    return HTMLResponse(f"<!doctype html><html lang=zh-CN><meta charset=utf-8><title>500</title>"
                        f"<h1>500</h1><p>{html.escape(zh or problem.message)}</p></html>", status_code=500)


def _scheduler_starter() -> Callable[..., Any] | None:
    """duban.scheduler.start_scheduler if that module exists; any other import error is a bug."""
    try:
        module = importlib.import_module("duban.scheduler")
    except ModuleNotFoundError as exc:
        if exc.name != "duban.scheduler":
            raise
        return None
    return module.start_scheduler  # type: ignore[no-any-return]


def _stop(handle: Any) -> None:
    for name in ("shutdown", "stop", "close"):
        method = getattr(handle, name, None)
        if callable(method):
            method()
            return


def create_app(ctx: ServiceContext, *, settings: Settings | None = None, secret: str | None = None,
               scheduler: bool = False) -> FastAPI:
    """The application on `ctx`. `scheduler=True` (as `duban serve` does) runs deadline sweeps too."""
    settings = settings or get_settings()
    install_access_log_filter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        handle = None
        start = _scheduler_starter() if scheduler else None
        if start is not None:
            handle = start(ctx, settings=settings)
            log.info("scheduler started")
        try:
            yield
        finally:
            if handle is not None:
                _stop(handle)

    app = FastAPI(title="Duban 督办", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Public supervision cases (社会监督意见): register, route, handle, review, "
                              "close. Errors carry `code`, `message` and `message_zh`.")
    app.state.ctx = ctx
    app.state.web = web = Web(ctx, secret or secret_key(settings), cookie_secure=settings.cookie_secure)
    app.state.login_throttle = LoginThrottle(ctx.now)
    # The public pages (网上反映): their texts and limits, the shared counters, the challenge's key.
    app.state.public = load_public(settings.override_dir)
    app.state.public_secret = hashlib.sha256(b"duban-public:" + web.sessions.secret).digest()
    app.state.public_limiter = Limiter(ctx, app.state.public_secret)
    # Cases first: each request tries the routers in this order (FastAPI matches every route of
    # each router before the next, twice for the one that answers), and most calls are to cases.
    for router in (cases.router, auth.router, bulk.router, callbacks.router, attachments.router,
                   documents.router, orgs.router, meta.router, notifications.router, pressure.router,
                   extensions.router):
        app.include_router(router, prefix="/api")
    app.include_router(pages.router)
    app.include_router(casepages.router)
    app.include_router(attachpages.router)
    app.include_router(pressurepages.router)
    app.include_router(docpages.router)
    app.include_router(adminpages.router)
    app.include_router(callbackpages.router)
    app.include_router(public.router)
    apidocs.install(app, title=app.title)  # before /static: its assets live under /static/apidocs
    app.mount("/static", StaticFiles(packages=[("duban.web", "static")]), name="static")
    install_error_handlers(app, page_error=web.error_page)
    install_openapi(app, ctx.labels, security_headers=SECURITY_HEADERS, bulk_max=ctx.policy.bulk.max_cases)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        return login_redirect(request)

    app.add_exception_handler(LoginRequired, on_login_required)

    app.add_middleware(PageGZip)
    app.add_middleware(BrokenText)
    app.add_middleware(BodyLimit)
    # Outermost (added last), so that refusals made by the middleware below carry the headers too.
    app.add_middleware(SecurityHeaders, https_only=settings.cookie_secure)
    return app
