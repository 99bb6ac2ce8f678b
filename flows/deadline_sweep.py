"""deadline-sweep: warning colours, escalation-ladder steps and progress-report reminders."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from duban.flows.common import flow_context
from duban.flows.reporting import duban_warnings_in_run_log, publish_counts
from duban.services.checkpoints import checkpoint_after
from duban.services.context import ServiceContext
from duban.services.sweeps import run_deadline_sweep


@task(name="sweep-due-cases", cache_policy=NO_CACHE)
def sweep_due_cases(ctx: ServiceContext, chunk_size: int | None) -> dict[str, Any]:
    """Every case due today, chunk by chunk (one task, however many cases)."""
    result = run_deadline_sweep(ctx, chunk_size=chunk_size).as_dict()
    line = checkpoint_after(ctx.engine, "deadline sweep")  # heads fixed outside the database
    result["audit_checkpoint"] = line["n"] if line else None
    return result


@flow(name="deadline-sweep")
def deadline_sweep_flow(chunk_size: int | None = None, database_url: str | None = None,
                        now: str | None = None) -> dict[str, Any]:
    """Colour open cases, fire the escalation ladder and progress reminders that are due.

    Idempotent: a step fires once per case and episode (UNIQUE rows written with it), so a run
    retried after a crash, or two runs at once, act on each case once."""
    ctx = flow_context(database_url, now)
    with duban_warnings_in_run_log():
        result = sweep_due_cases(ctx, chunk_size)
    get_run_logger().info("deadline sweep: %s", result)
    publish_counts("deadline-sweep", result, ctx.labels)
    return result
