"""deliver-notifications: send the outbox over SMTP and the SMS gateway, with retries and backoff."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from duban.config.settings import Settings
from duban.flows.common import flow_context, settings_for
from duban.flows.reporting import duban_warnings_in_run_log, publish_counts, undelivered
from duban.notify.deliver import SmtpConfig, deliver_pending
from duban.notify.sms import SmsConfig
from duban.services.context import ServiceContext


@task(name="send-due-mail", cache_policy=NO_CACHE)
def send_due_mail(ctx: ServiceContext, settings: Settings, max_batches: int | None) -> dict[str, Any]:
    """Claim, send and mark batch after batch, e-mail then SMS (one task, however many messages)."""
    smtp = SmtpConfig.from_settings(settings, ctx)
    return deliver_pending(ctx, smtp, sms=SmsConfig.from_settings(settings, ctx.policy.notify),
                           max_batches=max_batches).as_dict()


@flow(name="deliver-notifications")
def deliver_notifications_flow(max_batches: int | None = None, database_url: str | None = None,
                               now: str | None = None) -> dict[str, Any] | State:
    """Send pending notifications by e-mail and SMS; a server that is down delays them, never drops them.

    Ends Failed while mail or SMS waits for its server (it stays queued; the next run retries it), so
    an outage shows in the runs list. Idempotent: a message is claimed under a lease and marked
    sent once, so a retried or concurrent run sends nothing twice."""
    ctx = flow_context(database_url, now)
    with duban_warnings_in_run_log():
        result = send_due_mail(ctx, settings_for(database_url), max_batches)
    get_run_logger().info("delivery: %s", result)
    labels = ctx.labels
    publish_counts("deliver-notifications", result, labels)
    return undelivered(result, labels) or result
