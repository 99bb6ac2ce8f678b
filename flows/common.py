"""What every flow shares: the service context it runs against, and "now".

Inside `duban serve` / `duban scheduler run` the process registers its context (`use_context`),
so flows use the same engine, policy and clock. Run by a Prefect worker elsewhere, a flow builds
its context from the DUBAN_* settings. `now` (ISO 8601, with a zone) pins the clock for a run.
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from duban.clock import SimulatedClock, parse_local
from duban.config.settings import Settings, get_settings
from duban.services.context import ServiceContext

_lock = threading.Lock()
_registered: ServiceContext | None = None
_registered_settings: Settings | None = None
_built: dict[str, ServiceContext] = {}


def use_context(ctx: ServiceContext | None, settings: Settings | None = None) -> None:
    """Make flows in this process use `ctx` and `settings` (None: go back to the environment)."""
    global _registered, _registered_settings
    _registered, _registered_settings = ctx, settings


def flow_context(database_url: str | None = None, now: str | None = None) -> ServiceContext:
    with _lock:
        if database_url is None and _registered is not None:
            ctx = _registered
        else:
            settings = settings_for(database_url)
            url = settings.resolved_database_url
            if url not in _built:
                _built[url] = ServiceContext.from_settings(settings)
            ctx = _built[url]
    if now is None:
        return ctx
    return ServiceContext(engine=ctx.engine, clock=SimulatedClock(parse_local(now)),
                          calendars=ctx.calendars, policy=ctx.policy, labels=ctx.labels,
                          templates=ctx.templates)


def settings_for(database_url: str | None) -> Settings:
    """The registered settings (else the environment's), pointed at another database if named."""
    settings = _registered_settings or get_settings()
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
