"""The OpenAPI document, made to say what the API really answers.

FastAPI documents what it knows: the response model and its own 422 shape (HTTPValidationError,
which this API never sends). The rest is ours and is added here, once, when /openapi.json is
first asked for:

- every error as `ProblemOut` ({code, message, message_zh, field?, allowed_actions?});
- 401 (with WWW-Authenticate) on every operation that takes a token, 413 on every one that takes
  a body, 422 on every operation (a NUL byte or lone surrogate in any query parameter is refused
  before routing, declared or not), 429 with Retry-After where sign-in is throttled;
- the security headers every answer carries (duban/app.py), so that a client or a fuzzer can
  check them on each response;
- the codes from config/labels.toml as enums: channel, category, priority, state, disposition,
  level, warning, deadline kind, role, org kind.

Routes declare the statuses only they answer (403, 404, 409, 429) with `errors(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from duban.api.schemas import ProblemOut
from duban.config.policy import Labels

WHAT = {
    401: "not signed in, or the token is no longer valid",
    403: "your role (or region) may not do this",
    404: "no such case or org, or not yours to see (the two are indistinguishable)",
    409: "not allowed in the case's state (allowed_actions lists what is), or stale_case",
    413: "the request body is over 512 KB",
    422: "bad input; `field` names it, the input is never repeated",
    429: "too many failed sign-ins from here: wait Retry-After seconds",
}
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
BODY_METHODS = ("post", "put", "patch")
BULK_SCHEMAS = ("BulkIn", "BulkExportIn")

# Property name -> the labels table holding its codes (duban.config.policy.Labels).
ENUMS = {
    "state": "states", "disposition": "dispositions", "priority": "priorities", "level": "levels",
    "warning": "warnings", "channel": "channels", "category": "categories",
    "deadline_kind": "deadline_kinds", "role": "roles", "actor_role": "roles",
}
# Org kinds live under the generic name `kind`, which other schemas use for other things.
ENUMS_BY_SCHEMA = {("OrgOut", "kind"): "kinds"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error statuses it answers, each a ProblemOut."""
    return {status: {"model": ProblemOut, "description": WHAT[status]} for status in statuses}


def install(app: FastAPI, labels: Labels, *, security_headers: dict[str, str], bulk_max: int) -> None:
    """Make `app.openapi()` return the document described above."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None or not app.openapi_schema.get("x-duban-documented"):
            schema = generate()
            document(schema, labels, security_headers=security_headers, bulk_max=bulk_max)
            schema["x-duban-documented"] = True
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(schema: dict[str, Any], labels: Labels, *, security_headers: dict[str, str],
             bulk_max: int = 0) -> None:
    """Add what the API answers beyond FastAPI's knowledge to `schema`, in place."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in BULK_SCHEMAS:  # the figure of policy [bulk] max_cases this server refuses past
        numbers = components.get(name, {}).get("properties", {}).get("numbers")
        if numbers is not None and bulk_max:
            numbers["description"] = f"{numbers.get('description', '')}: here {bulk_max}"
    components.setdefault("ProblemOut", ProblemOut.model_json_schema())
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    headers = {name: {"description": "sent with every answer", "schema": {"type": "string", "enum": [value]}}
               for name, value in security_headers.items()}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            _problem(responses, 422)
            if operation.get("security"):
                _problem(responses, 401)
                responses["401"]["headers"] = {"WWW-Authenticate": {
                    "description": "how to authenticate", "schema": {"type": "string", "enum": ["Bearer"]}}}
            if method in BODY_METHODS:
                _problem(responses, 413)
            if "429" in responses:
                responses["429"]["headers"] = {"Retry-After": {
                    "description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}
            for response in responses.values():
                response["headers"] = {**headers, **response.get("headers", {})}
    for schema_name, model in components.items():
        for prop_name, prop in model.get("properties", {}).items():
            table = ENUMS_BY_SCHEMA.get((schema_name, prop_name)) or ENUMS.get(prop_name)
            if table is not None:
                _enum(prop, list(getattr(labels, table)))


def _problem(responses: dict[str, Any], status: int) -> None:
    """Status `status` answers a ProblemOut (replacing FastAPI's HTTPValidationError on 422)."""
    responses[str(status)] = {"description": WHAT[status],
                              "content": {"application/json": {"schema": PROBLEM_REF}}}


def _enum(prop: dict[str, Any], codes: list[str]) -> None:
    """Restrict a string property (or the string branch of `str | None`) to `codes`."""
    if prop.get("type") == "string" and "enum" not in prop:
        prop["enum"] = codes
        return
    for branch in prop.get("anyOf", []):
        if branch.get("type") == "string" and "enum" not in branch:
            branch["enum"] = codes
