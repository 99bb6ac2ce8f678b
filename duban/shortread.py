"""A face's short read (one case: its API answer, its page) on the event loop where that is cheaper.

A plain `def` route runs in the thread pool: handing the request to a worker thread and back, with
the threads contending for the GIL, cost more than reading one case when the database answers
without a network hop (`db.reads_on_loop`: SQLite, a PostgreSQL server on this host; measured in
docs/http.md, "One case on the event loop of a local database"). Writes stay in the thread pool
(a commit may wait on the disk while other requests go on), and so do lists and searches, whose
time grows with what they find; so does every read of a server across a network, whose round
trips overlap other requests' work there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from duban.db import reads_on_loop
from duban.services.context import ServiceContext

T = TypeVar("T")


async def short_read(ctx: ServiceContext, call: Callable[[], T]) -> T:
    """`call()`, a read of one case, here on the event loop or in the thread pool (above)."""
    if not reads_on_loop(ctx.engine):
        return await run_in_threadpool(call)
    return call()
