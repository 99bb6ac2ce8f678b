"""What every flow shares: the service context a run works in, built from its parameters.

A flow's parameters say which database (`database_url`, default DUBAN_DATABASE_URL) and, to pin
the run's clock, `now` (ISO 8601, with a zone): that is all a worker elsewhere knows, and all an
in-process caller passes (`run_parameters`). The flow builds its context once and hands it to
its tasks; nothing is looked up in a registry of the calling process.
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from duban.clock import SimulatedClock, SystemClock, parse_local
from duban.config.settings import Settings, get_settings
from duban.services.context import ServiceContext

_lock = threading.Lock()
_built: dict[str, ServiceContext] = {}  # one context per database and process: engines are pools


def flow_context(database_url: str | None = None, now: str | None = None) -> ServiceContext:
    """The context of a run on `database_url`, its clock pinned at `now` if given."""
    settings = settings_for(database_url)
    url = settings.resolved_database_url
    with _lock:
        if url not in _built:
            _built[url] = ServiceContext.from_settings(settings)
        ctx = _built[url]
    if now is None:
        return ctx
    return ServiceContext(engine=ctx.engine, clock=SimulatedClock(parse_local(now)),
                          calendars=ctx.calendars, policy=ctx.policy, labels=ctx.labels,
                          templates=ctx.templates)


def run_parameters(ctx: ServiceContext) -> dict[str, Any]:
    """What a flow run started from `ctx`'s process needs to work as that process would: its
    time, unless it runs on the system clock (the demo's clock, a simulation's). The database is
    the configured one; a URL is never a parameter by default (Prefect stores parameters, and a
    URL may hold a password)."""
    return {} if isinstance(ctx.clock, SystemClock) else {"now": ctx.now().isoformat()}


def settings_for(database_url: str | None) -> Settings:
    """The environment's settings, pointed at another database if named."""
    settings = get_settings()
    if database_url:
        settings = Settings(**{**settings.model_dump(), "database_url": database_url})
    return settings


def prefect_api_configured() -> bool:
    """Whether a Prefect server was named (PREFECT_API_URL, from the environment or a profile).

    Without one, running a flow starts Prefect's temporary server: a second uvicorn in a
    subprocess that outlives a process killed by a signal. A long-running process (serve,
    scheduler run) therefore runs its jobs as plain functions unless a server is configured.
    """
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def quiet_prefect_defaults() -> None:
    """Prefect sends no telemetry unless the operator asks for it (offices run on intranets)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def local_run_settings() -> AbstractContextManager[Any]:
    """Prefect settings for running a flow in this process in local mode: no heartbeat thread.

    Heartbeats let a Prefect server notice a crashed run; the temporary local server dies with
    the process anyway, and the heartbeat thread's sleep at exit costs most of a flow run's time
    (docs/stack.md). Against a real server (PREFECT_API_URL set),
    nothing changes.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if PREFECT_API_URL.value():
        return nullcontext()
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
