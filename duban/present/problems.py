"""Duban's errors as a person reads them: status, code, English and Chinese message. Both faces use
it (the API's JSON body, the pages' error page and form messages); `duban.api.errors` installs it.

    CaseNotFound, OrgNotFound        404  (also what may not be seen: scope hides, never explains)
    ItemNotFound                     404  (a proposal or interview, as a case)
    ActionNotAllowed                 409  with allowed_actions
    StaleCase, AvoidanceViolation    409
    InvalidActionInput, bad request  422  naming the field
    PermissionDenied                 403  (CaseHeldElsewhere: names the office that holds the case)
    AuthenticationFailed             401
    TooManyAttempts                  429  with Retry-After
    ConfigError, StoredFileLost      500

Every body carries `code`, `message` (English) and `message_zh`. Nothing below the API raises
HTTPException; services raise `duban.errors` and this module translates them. Validation errors never
echo the submitted input back (it may hold a complainant's details).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError

from duban.config.policy import Labels
from duban.errors import (
    ActionNotAllowed,
    AuthenticationFailed,
    AvoidanceViolation,
    CaseHeldElsewhere,
    CaseNotFound,
    ConfigError,
    DubanError,
    InvalidActionInput,
    ItemNotFound,
    OrgNotFound,
    PermissionDenied,
    StaleCase,
    StoredFileLost,
    TooManyAttempts,
)
from duban.present.textcheck import MAX_DEPTH, public_name
from duban.workcal import COVERAGE

log = logging.getLogger(__name__)

# What field_message's templates may name besides the field: the limits every refusal shares.
_BOUNDS: dict[str, Any] = {"coverage": COVERAGE, "max_depth": MAX_DEPTH}
EXTRA_FIELD_MESSAGE = "holds a field this request does not take (the OpenAPI schema lists those it does)"

STATUS: list[tuple[type[DubanError], int]] = [
    (CaseNotFound, 404),
    (OrgNotFound, 404),
    (ItemNotFound, 404),
    (ActionNotAllowed, 409),
    (StaleCase, 409),
    (AvoidanceViolation, 409),
    (InvalidActionInput, 422),
    (PermissionDenied, 403),
    (AuthenticationFailed, 401),
    (TooManyAttempts, 429),
    (ConfigError, 500),
    (StoredFileLost, 500),
]


@dataclass
class Problem:
    """An error as a person reads it, in both languages."""

    status: int
    code: str
    message: str
    message_zh: str
    field: str | None = None
    allowed_actions: list[str] | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "message_zh": self.message_zh}
        if self.field is not None:
            out["field"] = self.field
        if self.allowed_actions is not None:
            out["allowed_actions"] = self.allowed_actions
        return out


def filled(template: str, **values: Any) -> str:
    """A labels template with `values` in it; the template as it is when a value it names is
    missing (an office's override may name what this message does not carry)."""
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def field_message(labels: Labels, *, field: str, kind: str, message: str,
                  limits: dict[str, Any] | None = None, place: str = "") -> str:
    """A validation message in Chinese: the field's label and what is wrong with it. `place`
    ("query"): where the field was sent, whose label of it comes first (`query.text`, the list's
    keyword, is not a report's `text`)."""
    label = labels.fields.get(f"{place}.{field}") or labels.fields.get(field, field)
    template = labels.errors.get(kind)
    if template is None:  # a person reads Chinese only: the English detail goes to the log
        log.info("no Chinese message for %s on field %s: %s", kind or "invalid_input", field, message)
        template = labels.errors.get("invalid_input", "{label}: {message}")
    return filled(template, label=label, message=message, **{**_BOUNDS, **(limits or {})})


def problem_for(exc: DubanError, labels: Labels) -> Problem:
    status = next((s for kind, s in STATUS if isinstance(exc, kind)), 400)
    errors = labels.errors
    zh = errors.get(exc.code, "")
    problem = Problem(status=status, code=exc.code, message=str(exc), message_zh="")
    if isinstance(exc, CaseNotFound | OrgNotFound):
        zh = filled(zh, ref=exc.ref)
    elif isinstance(exc, ItemNotFound):
        zh = filled(zh, what=labels.fields.get(exc.what, exc.what))
    elif isinstance(exc, ActionNotAllowed):
        allowed = "、".join(labels.of("actions", a) for a in exc.allowed) or errors.get("none_allowed", "")
        zh = filled(zh, state=labels.of("states", exc.state), action=labels.of("actions", exc.action),
                  reason=f"（{exc.reason}）" if exc.reason else "", allowed=allowed)
        problem.allowed_actions = exc.allowed
    elif isinstance(exc, StaleCase):
        zh = filled(zh, actual=exc.actual)
    elif isinstance(exc, AvoidanceViolation):
        zh = filled(zh, unit=exc.unit)
    elif isinstance(exc, CaseHeldElsewhere):
        zh = filled(zh, holder=exc.holder, action=labels.of("actions", exc.action))
    elif isinstance(exc, PermissionDenied):
        if exc.reason:
            zh = errors.get("permission_denied_region", zh)
        zh = filled(zh, role=labels.of("roles", exc.role), action=labels.of("actions", exc.action))
    elif isinstance(exc, InvalidActionInput):
        problem.field = exc.field
        zh = field_message(labels, field=exc.field, kind=exc.kind, message=exc.message, limits=exc.limits)
    elif isinstance(exc, AuthenticationFailed):
        problem.headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, TooManyAttempts):
        problem.headers["Retry-After"] = str(exc.retry_after)
        zh = filled(zh, minutes=max(1, -(-exc.retry_after // 60)))
    elif isinstance(exc, ConfigError):
        log.error("configuration error: %s", exc)
        problem.message = "the server's configuration is wrong; see its log"
    if not zh:  # a person reads Chinese only: the English detail goes to the log
        log.info("no Chinese message for %s: %s", exc.code, exc)
    problem.message_zh = zh or filled(errors.get("duban_error", "{message}"), message=str(exc))
    return problem


def validation_problem(exc: RequestValidationError, labels: Labels) -> Problem:
    """The first thing wrong with a request, naming the field (never echoing the input: pydantic's
    `input` is dropped, and so is any key the client made up)."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "type": "", "msg": "invalid request"}
    kind = str(first.get("type", ""))
    loc = [str(p) for p in first.get("loc", ()) if not isinstance(p, int)]
    if kind == "extra_forbidden" and loc:
        loc = loc[:-1]  # the unknown key itself: the client's text, not ours
    names = [public_name(p, "") for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    names = [p for p in names if p]
    field_name = ".".join(names) or (loc[0] if loc and loc[0] in ("query", "path", "header") else "body")
    last = names[-1] if names else field_name
    message = EXTRA_FIELD_MESSAGE if kind == "extra_forbidden" else str(first.get("msg", ""))
    ctx = first.get("ctx")
    zh = field_message(labels, field=last, kind=kind, message=message,
                       limits=ctx if isinstance(ctx, dict) else None, place=loc[0] if len(loc) == 2 else "")
    return Problem(status=422, code="invalid_input", message=f"field '{field_name}': {message}",
                   message_zh=zh, field=field_name)
