"""The engine's timetable inside one process: APScheduler 3.11, jobs stored in Duban's database.

`start_scheduler` is what `duban serve` and `duban scheduler run` call. Four jobs, from policy
[schedule]: the deadline sweep and mail delivery on intervals, callback sampling and the monthly
cycle on crons (Asia/Shanghai). Each runs its Prefect flow when a Prefect server is configured
(PREFECT_API_URL) and [schedule] use_prefect is on; otherwise the same plain function in this
process, so no temporary Prefect server is started beside the service.

Downtime does not drop work: jobs are stored in the database (table `apscheduler_jobs`), kept
across restarts (a job is replaced only when its trigger changed in config), and a run missed
while the service was down runs once at start (misfire_grace_time=None, coalesce=True). Even
without that, a sweep catches up by itself: it acts on everything due up to today.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from duban.config.settings import Settings
from duban.errors import ConfigError
from duban.flows.common import prefect_api_configured, run_parameters
from duban.services.context import ServiceContext

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"


def _plain(name: str) -> Callable[[ServiceContext, Settings], Any]:
    from duban.notify.deliver import SmtpConfig, deliver_pending
    from duban.notify.sms import SmsConfig
    from duban.reports.delivery import queue_monthly_reports
    from duban.services.callbacks import sample_callbacks
    from duban.services.checkpoints import checkpoint_after
    from duban.services.monthly import run_monthly_cycle
    from duban.services.sweeps import run_deadline_sweep

    def monthly(ctx: ServiceContext, _: Settings) -> dict[str, Any]:  # the tasks of flows/monthly_cycle.py
        return {**run_monthly_cycle(ctx).as_dict(), "reports": queue_monthly_reports(ctx).as_dict()}

    jobs: dict[str, Callable[[ServiceContext, Settings], Any]] = {
        "deadline-sweep": lambda ctx, _: (run_deadline_sweep(ctx), checkpoint_after(ctx.engine, "sweep"))[0],
        "deliver-notifications": lambda ctx, settings: deliver_pending(
            ctx, SmtpConfig.from_settings(settings, ctx),
            sms=SmsConfig.from_settings(settings, ctx.policy.notify)),
        "sample-callbacks": lambda ctx, _: sample_callbacks(ctx),
        "monthly-cycle": monthly,
    }
    return jobs[name]


def _flow(name: str) -> Callable[..., Any]:
    from duban.flows.callback_sampling import sample_callbacks_flow
    from duban.flows.deadline_sweep import deadline_sweep_flow
    from duban.flows.deliver_notifications import deliver_notifications_flow
    from duban.flows.monthly_cycle import monthly_cycle_flow

    flows: dict[str, Callable[..., Any]] = {
        "deadline-sweep": deadline_sweep_flow,
        "deliver-notifications": deliver_notifications_flow,
        "sample-callbacks": sample_callbacks_flow,
        "monthly-cycle": monthly_cycle_flow,
    }
    return flows[name]


JOBS = ("deadline-sweep", "deliver-notifications", "sample-callbacks", "monthly-cycle")


# The context and settings of the scheduler running in this process (start_scheduler sets them):
# the job store keeps a job as a module-level function and its name, so a job finds them here.
_running: tuple[ServiceContext, Settings] | None = None


def run_job(name: str, ctx: ServiceContext | None = None, settings: Settings | None = None) -> Any:
    """One run of one job (module-level, so the job store can name it): as a Prefect flow run when
    a Prefect server is configured, else the plain function in this process. Without `ctx`, the
    running scheduler's."""
    if ctx is None or settings is None:
        if _running is None:
            raise RuntimeError("run_job without a context, and no scheduler running in this process")
        ctx, settings = _running
    try:
        if ctx.policy.schedule.use_prefect and prefect_api_configured():
            return _flow(name)(**run_parameters(ctx))
        result = _plain(name)(ctx, settings)
        return result.as_dict() if hasattr(result, "as_dict") else result
    except Exception:
        log.exception("scheduled job %s failed; it runs again at its next time", name)
        raise


def triggers(ctx: ServiceContext) -> dict[str, Any]:
    """Each job's trigger, from policy [schedule]; a bad cron names its key."""
    schedule = ctx.policy.schedule
    zone = ZoneInfo(schedule.timezone)

    def cron(key: str, text: str) -> CronTrigger:
        try:
            return CronTrigger.from_crontab(text, timezone=zone)
        except ValueError as exc:
            raise ConfigError(source="policy.toml", key=f"schedule.{key}", message=str(exc)) from exc

    return {
        "deadline-sweep": IntervalTrigger(minutes=schedule.sweep_every_minutes, timezone=zone),
        "deliver-notifications": IntervalTrigger(minutes=schedule.deliver_every_minutes, timezone=zone),
        "sample-callbacks": cron("callbacks_cron", schedule.callbacks_cron),
        "monthly-cycle": cron("monthly_cron", schedule.monthly_cron),
    }


def _signature(trigger: Any) -> str:
    """What makes two triggers the same schedule (not their start dates, which differ per start)."""
    return f"{trigger} {trigger.timezone}"


class _Scheduler(BackgroundScheduler):
    """APScheduler 3.11 advances a job's next run time even when submitting it failed, and a
    job that comes due while the scheduler shuts down fails to submit (the executor is closed):
    that run is lost without a trace. So a processing pass and the shutdown exclude each other
    through the job stores' (re-entrant) lock, and a pass that starts after the shutdown takes
    nothing: the run stays in the store for the next start.
    """

    _stopping = False

    def shutdown(self, wait: bool = True) -> None:
        # Taking the lock waits for a pass under way to finish submitting; passes after this
        # take nothing. (Not held across the shutdown itself: it joins the thread that needs it.)
        with self._jobstores_lock:
            self._stopping = True
        super().shutdown(wait)

    def _process_jobs(self) -> float | None:
        with self._jobstores_lock:
            if self._stopping or self.state == STATE_STOPPED:
                return None
            return super()._process_jobs()  # type: ignore[no-any-return]


def start_scheduler(ctx: ServiceContext, *, settings: Settings,
                    job_defaults: dict[str, Any] | None = None) -> BackgroundScheduler:
    """Start the engine's jobs in background threads; the caller shuts the scheduler down."""
    global _running
    _running = (ctx, settings)
    scheduler = _Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=ctx.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None,
                      **(job_defaults or {})},
        timezone=ZoneInfo(ctx.policy.schedule.timezone),
    )
    scheduler.start(paused=True)
    for name, trigger in triggers(ctx).items():
        stored = scheduler.get_job(name)
        if stored is not None and _signature(stored.trigger) == _signature(trigger):
            continue  # keep its next run time: a run missed while we were down still happens
        scheduler.add_job(run_job, trigger, args=[name], id=name, name=name, replace_existing=True)
        log.info("scheduled %s: %s", name, trigger)
    scheduler.resume()
    return scheduler
