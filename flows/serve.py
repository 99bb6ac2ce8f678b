"""Serve the engine's flows from a Prefect server, for offices that outgrow one machine.

    prefect server start --host 127.0.0.1            # once, or a server you already run
    PREFECT_API_URL=http://127.0.0.1:4200/api DUBAN_DATABASE_URL=postgresql://... \\
        python -m duban.flows.serve

The flows are the ones `duban serve` runs in-process; here the Prefect server schedules them
(crons need a real server) and this process runs them. Schedules come from policy [schedule],
so the two ways of running agree. Run one serve process (or workers with prefect.yaml) per
database; a second one is harmless (every flow is idempotent), only wasteful.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect.schedules import Cron, Interval

from duban.config.policy import Policy, load_policy
from duban.config.settings import get_settings
from duban.flows.callback_sampling import sample_callbacks_flow
from duban.flows.deadline_sweep import deadline_sweep_flow
from duban.flows.deliver_notifications import deliver_notifications_flow
from duban.flows.monthly_cycle import monthly_cycle_flow


def deployments(policy: Policy) -> list[Any]:
    """One deployment per flow, on the schedule policy gives (Asia/Shanghai)."""
    schedule = policy.schedule
    zone = schedule.timezone

    def every(minutes: int) -> Any:  # prefect.schedules.Interval is a function, not a type
        return Interval(dt.timedelta(minutes=minutes), timezone=zone)

    return [
        deadline_sweep_flow.to_deployment(
            name="duban", schedules=[every(schedule.sweep_every_minutes)], concurrency_limit=1),
        deliver_notifications_flow.to_deployment(
            name="duban", schedules=[every(schedule.deliver_every_minutes)], concurrency_limit=1),
        sample_callbacks_flow.to_deployment(
            name="duban", schedules=[Cron(schedule.callbacks_cron, timezone=zone)]),
        monthly_cycle_flow.to_deployment(
            name="duban", schedules=[Cron(schedule.monthly_cron, timezone=zone)]),
    ]


def main() -> None:
    from prefect import serve

    serve(*deployments(load_policy(get_settings().override_dir)))


if __name__ == "__main__":
    main()
