"""The one place where Duban's errors become HTTP answers: JSON for /api, a Chinese page otherwise.

What each error says and with which status is `duban.present.problems`, shared with the pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from duban.config.policy import Labels
from duban.errors import DubanError
from duban.present.problems import Problem, problem_for, validation_problem

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method some route takes on this path. Starlette names only the first route's that
    matched the path (GET /api/cases and POST /api/cases are two routes: a PUT was told "GET")."""
    routes = request.app.router.routes
    methods = [method for method in METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)]
    return ", ".join(methods)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def install(app: FastAPI, *, page_error: Any) -> None:
    """Register the handlers; `page_error(request, problem)` renders the Chinese page."""

    def labels_of(request: Request) -> Labels:
        return request.app.state.ctx.labels  # type: ignore[no-any-return]

    def answer(request: Request, problem: Problem) -> Response:
        if is_api(request):
            return JSONResponse(problem.body(), status_code=problem.status, headers=problem.headers)
        return page_error(request, problem)  # type: ignore[no-any-return]

    async def on_duban_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DubanError)
        return answer(request, problem_for(exc, labels_of(request)))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return answer(request, validation_problem(exc, labels_of(request)))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        labels = labels_of(request)
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # Not JSON FastAPI could decode (bytes that are not UTF-8): bad input, like bad JSON.
            return answer(request, Problem(
                status=422, code="invalid_input", field="body",
                message="field 'body': the request body could not be read; send UTF-8 JSON",
                message_zh=labels.errors.get("invalid_body", "")))
        if exc.status_code == 400 and request.headers.get("content-type", "").lower().startswith(
                "multipart/form-data"):
            # A multipart body Starlette could not parse (the routes with files): bad input too.
            return answer(request, Problem(
                status=422, code="invalid_input", field="body",
                message="field 'body': the multipart body could not be read; send the JSON in the "
                        "form field `body` and the files in `files`",
                message_zh=labels.errors.get("invalid_multipart", "")))
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        code = codes.get(exc.status_code, "http_error")
        zh = labels.errors.get(code, "") or labels.errors.get("not_found", "")
        problem = Problem(status=exc.status_code, code=code, message=str(exc.detail), message_zh=zh,
                          headers=dict(exc.headers or {}))
        if exc.status_code == 405:
            problem.headers["Allow"] = allowed_methods(request)
        return answer(request, problem)

    app.add_exception_handler(DubanError, on_duban_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
