"""The public pages (网上反映): file a complaint, follow it with number and query code, rate the
reply, ask for 复查. No sign-in; linked from the sign-in page.

Every form carries a CSRF token bound to an anonymous session cookie, as the sign-in form does.
Each request is counted per client address (config/public.toml [limits], in the database, so
every worker shares the window); bodies over `max_body_bytes` are refused before they are read
in whole; filing asks a signed arithmetic question (services/online.py). Texts are in
config/public.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from duban.config.public import PublicConfig
from duban.errors import (
    ActionNotAllowed,
    AlreadyRated,
    CaseNotFound,
    ChallengeFailed,
    DubanError,
    InvalidActionInput,
    TooManyRequests,
)
from duban.present.textcheck import BROKEN_TEXT
from duban.services.online import (
    CITIZEN_ACTOR,
    RATINGS,
    Complaint,
    Limiter,
    check_challenge,
    file_complaint,
    new_challenge,
    rate_reply,
)
from duban.services.querycodes import shown
from duban.services.reading import citizen_case
from duban.services.reviews import request_review
from duban.web.render import Web
from duban.web.session import Sessions, WebSession

router = APIRouter(include_in_schema=False)


@dataclass
class PublicForm:
    """A public form's fields, or why it was not read (too large, or broken text)."""

    values: dict[str, str] = field(default_factory=dict)
    refused: int = 0  # 413 or 422


def _web(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


def _config(request: Request) -> PublicConfig:
    return request.app.state.public  # type: ignore[no-any-return]


def _limiter(request: Request) -> Limiter:
    return request.app.state.public_limiter  # type: ignore[no-any-return]


def _secret(request: Request) -> bytes:
    return request.app.state.public_secret  # type: ignore[no-any-return]


async def public_form(request: Request) -> PublicForm:
    """The posted fields, read up to the public body limit (a dependency: routes stay sync)."""
    limit = _config(request).limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return PublicForm(refused=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return PublicForm(refused=413)
    try:
        pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=40,
                          errors="strict")
    except (UnicodeDecodeError, ValueError):
        return PublicForm(refused=422)
    values: dict[str, str] = {}
    for key, value in pairs:
        if BROKEN_TEXT.search(key) or BROKEN_TEXT.search(value):
            return PublicForm(refused=422)
        values.setdefault(key, value)
    return PublicForm(values=values)


Posted = Annotated[PublicForm, Depends(public_form)]


def client_address(request: Request, config: PublicConfig) -> str:
    """The client's address: the connection's, or the configured header's when a trusted proxy
    sent the request (the last address in it: the one that proxy saw)."""
    peer = request.client.host if request.client else "?"
    header = config.limits.client_header
    if header and peer in config.limits.trusted_proxies:
        seen = request.headers.get(header, "").split(",")[-1].strip()
        if seen:
            return seen[:64]
    return peer


def _render(request: Request, template: str, *, status: int = 200, problem: str = "",
            **context: Any) -> Response:
    """A public page with a CSRF token of the visitor's anonymous session (made when missing)."""
    web = _web(request)
    session: WebSession = web.sessions.load(request) or Sessions.new()
    config = _config(request)
    response = web.render(request, template, viewer=None, status=status, pub=config, failure=problem,
                          csrf=web.sessions.csrf_token(session), shown_code=shown, **context)
    web.sessions.save(response, session, secure=request.url.scheme == "https" or web.cookie_secure)
    return response


def _csrf_ok(request: Request, posted: PublicForm) -> bool:
    web = _web(request)
    return web.sessions.csrf_ok(web.sessions.load(request), posted.values.get("csrf"))


def _refusal(request: Request, template: str, exc: Exception | int, **context: Any) -> Response:
    """The page again with a message saying what was wrong (never repeating what was sent)."""
    config = _config(request)
    status, message = 422, ""
    if exc == 413:
        status, message = 413, config.t("too_large")
    elif exc == 403:
        status, message = 403, config.t("csrf_failed")
    elif isinstance(exc, int):
        message = config.t("bad_input")
    elif isinstance(exc, TooManyRequests):
        status, message = 429, config.t("too_many").format(minutes=max(1, -(-exc.retry_after // 60)))
    elif isinstance(exc, ChallengeFailed):
        message = config.t("challenge_failed")
    elif isinstance(exc, CaseNotFound):
        status, message = 404, config.t("not_found")
    elif isinstance(exc, AlreadyRated):
        status, message = 409, config.t("already_rated")
    elif isinstance(exc, ActionNotAllowed):
        status, message = 409, config.t("review_refused" if exc.action == "request_review"
                                        else "no_reply_to_rate")
    elif isinstance(exc, InvalidActionInput):
        message = _field_message(config, exc)
    response = _render(request, template, status=status, problem=message, **context)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


_FIELD_TEXT = {"title": "title", "summary": "summary", "subject_name": "subject", "name": "name",
               "phone": "phone", "comment": "comment", "reason": "review_reason",
               "office_code": "region", "category": "category", "rating": "rate"}


def _field_message(config: PublicConfig, exc: InvalidActionInput) -> str:
    name = config.t(_FIELD_TEXT.get(exc.field, "summary"))
    if exc.kind == "string_too_long":
        return config.t("too_long").format(field=name, limit=exc.limits.get("max_length", ""))
    if exc.kind == "missing":
        if exc.field in ("name", "phone"):
            return config.t("real_name_needs")
        return config.t("required").format(field=name)
    return config.t("invalid_choice").format(field=name)


def _offices(request: Request) -> list[tuple[str, list[Any]]]:
    """The supervising offices to file with, grouped for the select: the province, then each city
    with its counties."""
    orgs = [o for o in _web(request).ctx.orgs.all() if o.kind == "office"]
    groups: list[tuple[str, list[Any]]] = []
    cities = sorted((o for o in orgs if o.level == "city"), key=lambda o: o.code)
    province = [o for o in orgs if o.level == "province"]
    if province:
        groups.append((province[0].name, province))
    for city in cities:
        below = sorted((o for o in orgs if o.level == "county" and o.code.startswith(city.code + "-")),
                       key=lambda o: o.code)
        groups.append((city.name, [city, *below]))
    return groups


def _file_page(request: Request, *, values: dict[str, str] | None = None) -> dict[str, Any]:
    config = _config(request)
    challenge = new_challenge(config, _secret(request), _web(request).ctx.now())
    return {"values": values or {}, "offices": _offices(request), "challenge": challenge}


@router.get("/public", response_class=HTMLResponse)
def public_home(request: Request) -> Response:
    return _render(request, "public_file.html", **_file_page(request))


@router.post("/public/file")
def public_file(request: Request, posted: Posted) -> Response:
    """File a complaint online: its number and query code, shown once."""
    config = _config(request)
    values = {k: v for k, v in posted.values.items() if k not in ("csrf", "token", "answer")}
    page = _file_page(request, values=values)
    if posted.refused:
        return _refusal(request, "public_file.html", posted.refused, **page)
    if not _csrf_ok(request, posted):
        return _refusal(request, "public_file.html", 403, **page)
    address = client_address(request, config)
    limits = config.limits
    v = posted.values
    try:
        _limiter(request).check("posts", address, limit=limits.posts_per_window,
                                minutes=limits.posts_window_minutes)
        check_challenge(_limiter(request), _secret(request), v.get("token", ""), v.get("answer", ""))
        _limiter(request).check("file", address, limit=limits.file_per_window,
                                minutes=limits.file_window_minutes)
        real = v.get("identity") == "real"
        filed = file_complaint(_web(request).ctx, Complaint(
            office_code=v.get("office_code", ""), category=v.get("category", ""),
            title=v.get("title", ""), summary=v.get("summary", ""),
            subject_name=v.get("subject_name", ""), real_name=real, name=v.get("name", ""),
            phone=v.get("phone", ""), consent=real and v.get("consent") == "1"),
            actor=CITIZEN_ACTOR, config=config)
    except (DubanError, ValueError) as exc:
        return _refusal(request, "public_file.html", _known(exc), **page)
    return _render(request, "public_filed.html", status=201, filed=filed)


def _known(exc: Exception) -> Exception:
    """A refusal the page can word (pydantic's ValueError from CaseCreate reads as bad input)."""
    if isinstance(exc, DubanError):
        return exc
    return InvalidActionInput(action="register", field="summary", message="invalid")


@router.get("/public/follow", response_class=HTMLResponse)
def public_follow_page(request: Request) -> Response:
    return _render(request, "public_follow.html", number="")


def _follow(request: Request, posted: PublicForm, *, template: str = "public_follow.html",
            done: str = "") -> Response:
    """The case the posted number and code prove, or the follow form with why not."""
    config = _config(request)
    number = posted.values.get("number", "").strip()[:40]
    code = posted.values.get("code", "")[:64]
    address = client_address(request, config)
    limits = config.limits
    limiter = _limiter(request)
    try:
        limiter.check("follow", address, limit=limits.follow_failures, minutes=limits.follow_window_minutes,
                      count=False)
        view = citizen_case(_web(request).ctx, number, code=code, actor=CITIZEN_ACTOR)
    except CaseNotFound as exc:
        limiter.record("follow", address)
        return _refusal(request, "public_follow.html", exc, number=number)
    except TooManyRequests as exc:
        return _refusal(request, "public_follow.html", exc, number=number)
    return _render(request, "public_case.html", view=view, number=number, code=code, done=done,
                   ratings=RATINGS, may_review=_may_review(view))


@router.post("/public/follow")
def public_follow(request: Request, posted: Posted) -> Response:
    """Follow a case with its number and query code."""
    if posted.refused:
        return _refusal(request, "public_follow.html", posted.refused, number="")
    if not _csrf_ok(request, posted):
        return _refusal(request, "public_follow.html", 403, number="")
    try:
        _limiter(request).check("posts", client_address(request, _config(request)),
                                limit=_config(request).limits.posts_per_window,
                                minutes=_config(request).limits.posts_window_minutes)
    except TooManyRequests as exc:
        return _refusal(request, "public_follow.html", exc, number="")
    return _follow(request, posted)


def _proved_action(request: Request, posted: PublicForm, act: Any, done_key: str) -> Response:
    """A rating or a review request: proved by number and code again, then done, then the case."""
    config = _config(request)
    if posted.refused:
        return _refusal(request, "public_follow.html", posted.refused, number="")
    if not _csrf_ok(request, posted):
        return _refusal(request, "public_follow.html", 403, number="")
    address = client_address(request, config)
    limiter = _limiter(request)
    number = posted.values.get("number", "").strip()[:40]
    try:
        limiter.check("posts", address, limit=config.limits.posts_per_window,
                      minutes=config.limits.posts_window_minutes)
        limiter.check("follow", address, limit=config.limits.follow_failures,
                      minutes=config.limits.follow_window_minutes, count=False)
        act(number, posted.values.get("code", "")[:64])
    except CaseNotFound as exc:
        limiter.record("follow", address)
        return _refusal(request, "public_follow.html", exc, number=number)
    except TooManyRequests as exc:
        return _refusal(request, "public_follow.html", exc, number=number)
    except (AlreadyRated, ActionNotAllowed, InvalidActionInput) as exc:
        response = _follow(request, posted)
        if response.status_code != 200:
            return response
        return _refusal(request, "public_case.html", exc, **_case_context(request, posted))
    return _follow(request, posted, done=config.t(done_key))


def _case_context(request: Request, posted: PublicForm) -> dict[str, Any]:
    number = posted.values.get("number", "").strip()[:40]
    code = posted.values.get("code", "")[:64]
    view = citizen_case(_web(request).ctx, number, code=code, actor=CITIZEN_ACTOR)
    return {"view": view, "number": number, "code": code, "done": "", "ratings": RATINGS,
            "may_review": _may_review(view)}


def _may_review(view: dict[str, Any]) -> bool:
    """A review is offered once there is a reply, and until the matter is concluded (终结)."""
    return view["reply"] is not None and view["review_next"] is not None


@router.post("/public/rate")
def public_rate(request: Request, posted: Posted) -> Response:
    """Rate the reply: 满意 / 基本满意 / 不满意, once per reply."""
    config = _config(request)

    def act(number: str, code: str) -> None:
        rate_reply(_web(request).ctx, number, code=code, actor=CITIZEN_ACTOR,
                   rating=posted.values.get("rating", ""), comment=posted.values.get("comment", ""),
                   config=config)

    return _proved_action(request, posted, act, "rated_done")


@router.post("/public/review")
def public_review(request: Request, posted: Posted) -> Response:
    """Ask for 复查, or 复核 after it (duban.services.reviews.request_review)."""
    config = _config(request)

    def act(number: str, code: str) -> None:
        reason = posted.values.get("reason", "")
        if len(reason) > config.lengths.reason:
            raise InvalidActionInput(action="request_review", field="reason", kind="string_too_long",
                                     message="too long", limits={"max_length": config.lengths.reason})
        if not reason.strip():
            raise InvalidActionInput(action="request_review", field="reason", kind="missing",
                                     message="must not be empty")
        citizen_case(_web(request).ctx, number, code=code, actor=CITIZEN_ACTOR)  # the code proves it
        try:
            request_review(_web(request).ctx, number, actor=CITIZEN_ACTOR, reason=reason.strip())
        except (CaseNotFound, InvalidActionInput):
            raise
        except DubanError as exc:  # not allowed now (window passed, already asked): said plainly
            raise ActionNotAllowed(case_number=number, action="request_review", state="", allowed=[],
                                   reason=str(exc)) from exc

    return _proved_action(request, posted, act, "review_done")
