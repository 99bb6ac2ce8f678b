"""sample-callbacks: put a sample of verified cases, and of cases closed long ago, on the call list."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from duban.flows.common import flow_context
from duban.flows.reporting import duban_warnings_in_run_log, publish_counts
from duban.services.callbacks import sample_callbacks
from duban.services.context import ServiceContext


@task(name="sample-cases", cache_policy=NO_CACHE)
def sample_cases(ctx: ServiceContext) -> dict[str, Any]:
    """抽查回访 of verified cases and 回头看 of closed ones, decided once per case and episode."""
    return sample_callbacks(ctx).as_dict()


@flow(name="sample-callbacks")
def sample_callbacks_flow(database_url: str | None = None, now: str | None = None) -> dict[str, Any]:
    """Queue today's callbacks and revisits.

    Idempotent: the sample is decided once per case and episode, so a rerun queues nothing new."""
    ctx = flow_context(database_url, now)
    with duban_warnings_in_run_log():
        result = sample_cases(ctx)
    get_run_logger().info("callback sampling: %s", result)
    publish_counts("sample-callbacks", result, ctx.labels)
    return result
