"""Serve the engine's flows from a Prefect server, or deploy them to a work pool for workers.

    python -m duban.flows.prefect_server --port PORT # once, or a server you already run
    PREFECT_API_URL=http://127.0.0.1:PORT/api DUBAN_DATABASE_URL=postgresql://... \\
        python -m duban.flows.serve                  # this process runs the flows

    PREFECT_API_URL=... DUBAN_DATABASE_URL=postgresql://... \\
        python -m duban.flows.serve --pool duban     # deploy for `prefect worker start --pool duban`

The flows are the ones `duban serve` runs in-process; here the Prefect server schedules them
(crons need a real server). Schedules come from policy [schedule], so the two ways of running
agree. Deployed to a pool, each flow runs in a worker's subprocess, found by its module path
(`duban.flows.deadline_sweep.deadline_sweep_flow`), so workers need Duban installed, not a
checkout; the deployment carries DUBAN_DATABASE_URL (and the non-secret DUBAN_SMTP_* and
DUBAN_CONFIG_DIR) as the runs' environment, secrets stay in the workers' own environment.
The runs send a heartbeat every `--heartbeat` seconds, and two automations on the server
(duban/flows/healing.py) crash a run whose heartbeats stop and retry it: a dead worker's run
finishes on another. `scripts/prefect-stack` starts a server, two workers and these deployments
(docs/engine.md).
Run one serve process or one pool per database; a second one is harmless (every flow is
idempotent, and sweeps and senders share work through row locks), only wasteful.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import Any

from prefect.schedules import Cron, Interval

from duban.config.policy import Policy, load_policy
from duban.config.settings import get_settings
from duban.flows.callback_sampling import sample_callbacks_flow
from duban.flows.deadline_sweep import deadline_sweep_flow
from duban.flows.deliver_notifications import deliver_notifications_flow
from duban.flows.healing import ENGINE_TAG, apply_automations, automations
from duban.flows.monthly_cycle import monthly_cycle_flow

# What a deployment passes to its runs' environment. Not DUBAN_SMTP_PASSWORD, DUBAN_SMTP_USERNAME
# or DUBAN_SECRET_KEY: the Prefect server shows job variables to anyone who can open its UI.
RUN_ENVIRONMENT = ("DUBAN_DATABASE_URL", "DUBAN_CONFIG_DIR", "DUBAN_TIMEZONE", "DUBAN_SMTP_HOST",
                   "DUBAN_SMTP_PORT", "DUBAN_SMTP_SENDER", "DUBAN_SMTP_STARTTLS")


def deployments(policy: Policy, *, concurrency_limit: int | None = 1, **options: Any) -> list[Any]:
    """One deployment per flow, on the schedule policy gives (Asia/Shanghai).

    `concurrency_limit` bounds the runs of the sweep and of delivery at once (None: no bound);
    `options` go to `Flow.to_deployment` (a work pool, job variables, paused...). Each is tagged
    ENGINE_TAG: the healing automations act on runs with that tag only.
    """
    schedule = policy.schedule
    options.setdefault("tags", [ENGINE_TAG])
    zone = schedule.timezone

    def every(minutes: int) -> Any:  # prefect.schedules.Interval is a function, not a type
        return Interval(dt.timedelta(minutes=minutes), timezone=zone)

    return [
        deadline_sweep_flow.to_deployment(
            name="duban", schedules=[every(schedule.sweep_every_minutes)],
            concurrency_limit=concurrency_limit, **options),
        deliver_notifications_flow.to_deployment(
            name="duban", schedules=[every(schedule.deliver_every_minutes)],
            concurrency_limit=concurrency_limit, **options),
        sample_callbacks_flow.to_deployment(
            name="duban", schedules=[Cron(schedule.callbacks_cron, timezone=zone)], **options),
        monthly_cycle_flow.to_deployment(
            name="duban", schedules=[Cron(schedule.monthly_cron, timezone=zone)], **options),
    ]


def deploy_to_pool(policy: Policy, *, pool: str, concurrency_limit: int | None = 1,
                   paused: bool = False, heartbeat: int = 30) -> list[str]:
    """Register the four deployments on work pool `pool`; returns their names (flow/deployment).

    Their runs send a heartbeat every `heartbeat` seconds (Prefect's minimum: 30)."""
    from prefect.types.entrypoint import EntrypointType

    env = {name: os.environ[name] for name in RUN_ENVIRONMENT if os.environ.get(name)}
    if "DUBAN_DATABASE_URL" not in env:
        raise SystemExit("set DUBAN_DATABASE_URL: the database the flow runs work on")
    env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(heartbeat)
    names = []
    for deployment in deployments(policy, concurrency_limit=concurrency_limit, work_pool_name=pool,
                                  job_variables={"env": env}, paused=paused,
                                  entrypoint_type=EntrypointType.MODULE_PATH):
        deployment.apply()
        names.append(f"{deployment.flow_name}/{deployment.name}")
    return names


def heal(*, crash_after: int, retries: int) -> None:
    """Create or update the healing automations on the server PREFECT_API_URL names."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        apply_automations(client, automations(crash_after=dt.timedelta(seconds=crash_after), retries=retries))
    sys.stdout.write(f"automations: a run without a heartbeat for {crash_after} s is Crashed, "
                     f"then retried (at most {retries} times)\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m duban.flows.serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", help="deploy to this work pool (process type) instead of serving")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="runs of the sweep, and of delivery, at once (0: no bound; default 1)")
    parser.add_argument("--paused", action="store_true",
                        help="with --pool: schedules paused (runs start only when asked for)")
    parser.add_argument("--heartbeat", type=int, default=30,
                        help="seconds between a run's heartbeats (at least 30; default 30)")
    parser.add_argument("--crash-after", type=int, default=None,
                        help="seconds without a heartbeat before a run is Crashed (default: 3 heartbeats)")
    parser.add_argument("--retries", type=int, default=2,
                        help="times a Crashed run is run again (default 2)")
    args = parser.parse_args(argv)
    if args.heartbeat < 30:
        parser.error("--heartbeat: Prefect sends heartbeats at most every 30 s")
    crash_after = args.crash_after or 3 * args.heartbeat
    if crash_after <= args.heartbeat:
        parser.error("--crash-after must be longer than --heartbeat, or every run would crash")
    policy = load_policy(get_settings().override_dir)
    heal(crash_after=crash_after, retries=args.retries)
    if args.pool:
        for name in deploy_to_pool(policy, pool=args.pool, concurrency_limit=args.concurrency or None,
                                   paused=args.paused, heartbeat=args.heartbeat):
            sys.stdout.write(f"deployed {name} to work pool {args.pool}\n")
        return
    from prefect import serve

    # The runs are this process's children: they send heartbeats as often as the automation expects.
    os.environ["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(args.heartbeat)
    serve(*deployments(policy, concurrency_limit=args.concurrency or None))


if __name__ == "__main__":
    main()
