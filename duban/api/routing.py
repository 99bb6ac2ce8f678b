"""The API's routes: a plain `def` route is handed to the thread pool once a request, not twice.

FastAPI runs a `def` route in the thread pool and then, when the route has a response model (any
return annotation gives it one), hands its answer to the pool again to be validated
(`fastapi.routing.serialize_response`). Each hand-over is a worker thread woken and the event
loop woken back, with the two contending for the GIL under load: in wrk's runs of the action
route (8 connections) the second one cost about 7 % of the server's CPU a request (docs/http.md).
Here such a route's body is wrapped in a coroutine that awaits the pool once, so FastAPI treats
it as an `async` route and validates the answer on the event loop (CPU only, no waiting). The
body still runs off the loop, where a commit may wait on the disk while other requests go on.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


def pooled(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` as a coroutine that runs it in the thread pool; a coroutine or a generator as it is.
    The wrapper keeps the endpoint's signature and module (functools.wraps), from which FastAPI
    reads its parameters and resolves their annotations."""
    if (inspect.iscoroutinefunction(endpoint) or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)):
        return endpoint

    @functools.wraps(endpoint)
    async def in_pool(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return in_pool


class PooledRoute(APIRoute):
    """The route class of every API router (`APIRouter(route_class=PooledRoute)`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, pooled(endpoint), **kwargs)
