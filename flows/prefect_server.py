"""Prefect's own server, as `prefect server start` runs it, with one shim for the pinned client.

    python -m duban.flows.prefect_server --host 127.0.0.1 --port PORT   # prefect in config/ports.toml

Prefect 3.8.8's client (its CLI: `deployment ls`, `flow-run ls`, `flow-run logs`, `work-pool
ls`…) sends every optional body parameter of a filter request, unset ones as JSON null
(`"limit": null, "sort": null`). FastAPI before 0.148 read a null body parameter as "use the
default"; from 0.148 on it validates the null, so Prefect's server answers those requests 422.
Duban's API needs a recent FastAPI, and both share one environment. The shim restores the old
reading exactly where it applied: a top-level null in the body of a route whose body is several
parameters (FastAPI's "embedded" bodies) is dropped, so FastAPI uses the parameter's default.
Routes whose body is one model are untouched: there a null is the model's business (a PATCH may
set a field to null on purpose). `scripts/prefect-stack` runs this module instead of
`prefect server start`; the rest is Prefect's app as is (migrations, services, UI).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def embedded_body_routes(app: Any, prefix: str = "") -> Iterator[tuple[frozenset[str], re.Pattern[str]]]:
    """(methods, full-path pattern) of every operation, mounts included, whose body is embedded:
    FastAPI documents such a body as one combined schema named `Body_<operation>`."""
    from fastapi import FastAPI
    from starlette.routing import Mount

    if isinstance(app, FastAPI):
        for path, operations in app.openapi().get("paths", {}).items():
            methods = frozenset(method.upper() for method, operation in operations.items()
                                if _embedded(operation))
            if methods:
                pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + path))
                yield methods, re.compile(f"^{pattern}$")
    for route in getattr(app, "routes", []):
        if isinstance(route, Mount):
            yield from embedded_body_routes(route.app, prefix + route.path)


def _embedded(operation: Any) -> bool:
    schema = (operation.get("requestBody", {}).get("content", {}).get("application/json", {})
              .get("schema", {})) if isinstance(operation, dict) else {}
    return schema.get("$ref", "").rsplit("/", 1)[-1].startswith("Body_")


class NullMeansDefault:
    """Drops top-level nulls from the JSON body of requests to embedded-body routes."""

    def __init__(self, app: App, routes: list[tuple[frozenset[str], re.Pattern[str]]]) -> None:
        self.app = app
        self.routes = routes

    def _applies(self, scope: Scope) -> bool:
        return scope["type"] == "http" and any(
            scope["method"] in methods and pattern.match(scope["path"]) for methods, pattern in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = without_top_level_nulls(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, _replay(
            [{"type": "http.request", "body": body, "more_body": False}], then=receive), send)


def without_top_level_nulls(body: bytes) -> bytes:
    """The body with its object's null members removed; anything else (not JSON, not an
    object) is passed on as it came, for FastAPI to refuse as it would."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or None not in data.values():
        return body
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive


def shimmed(app: Any) -> App:
    return NullMeansDefault(app, list(embedded_body_routes(app)))


def create_app() -> App:
    """Prefect's server app (`create_app(final=True)`, as its CLI builds it), shimmed."""
    from prefect.server.api.server import create_app as prefect_app

    return shimmed(prefect_app(final=True))


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level,
                timeout_keep_alive=5)


if __name__ == "__main__":
    main()
