"""monthly-cycle: remind offices of the monthly task reports due before the 25th; send last month's
report (每月专报) to each office's leaders."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from duban.flows.common import flow_context
from duban.flows.reporting import duban_warnings_in_run_log, publish_counts
from duban.reports.delivery import queue_monthly_reports
from duban.services.context import ServiceContext
from duban.services.monthly import run_monthly_cycle


@task(name="remind-offices", cache_policy=NO_CACHE)
def remind_offices(ctx: ServiceContext) -> dict[str, Any]:
    """One reminder per office per month, on or after the reminder day."""
    return run_monthly_cycle(ctx).as_dict()


@task(name="queue-monthly-reports", cache_policy=NO_CACHE)
def monthly_reports(ctx: ServiceContext) -> dict[str, Any]:
    """Last month's report to each office's leaders, once, on or after the sending day."""
    return queue_monthly_reports(ctx).as_dict()


@flow(name="monthly-cycle")
def monthly_cycle_flow(database_url: str | None = None, now: str | None = None) -> dict[str, Any]:
    """The monthly cycle: task-report reminders and last month's report (runs daily; acts when due).

    Idempotent: one reminder per office per month and one report per office and period, so a
    rerun the same day sends nothing twice."""
    ctx = flow_context(database_url, now)
    with duban_warnings_in_run_log():
        result = remind_offices(ctx)
        result["reports"] = monthly_reports(ctx)
    get_run_logger().info("monthly cycle: %s", result)
    publish_counts("monthly-cycle", result, ctx.labels)
    return result
