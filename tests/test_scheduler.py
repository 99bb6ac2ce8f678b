"""The engine's timetable: jobs stored in the database, kept across restarts, never dropped."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from duban import scheduler as engine_scheduler
from duban.config.settings import Settings
from duban.db import create_all, make_engine
from duban.errors import ConfigError
from duban.services import ServiceContext
from duban.services.orgs import install_orgs
from tests.factories import ORGS


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    engine = make_engine(f"sqlite:///{tmp_path / 'duban.db'}")
    create_all(engine)
    install_orgs(engine, ORGS)
    context = ServiceContext(engine=engine)
    context.policy = context.policy.model_copy(update={"schedule": context.policy.schedule.model_copy(
        update={"use_prefect": False})})
    yield context
    engine.dispose()


class Ran(list[str]):
    """Names of the jobs run, recorded instead of doing their work."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> Ran:
    calls = Ran()

    def plain(name: str) -> Any:
        def job(ctx: ServiceContext, settings: Settings) -> dict[str, str]:
            calls.append(name)
            calls.done.set()
            return {"job": name}
        return job

    monkeypatch.setattr(engine_scheduler, "_plain", plain)
    return calls


def stored_jobs(ctx: ServiceContext) -> dict[str, float]:
    with ctx.engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT id, next_run_time FROM {engine_scheduler.JOB_TABLE}")).all())


def test_the_four_jobs_are_stored_in_the_database(ctx: ServiceContext, tmp_path: Path) -> None:
    scheduler = engine_scheduler.start_scheduler(ctx, settings=Settings(data_dir=tmp_path))
    try:
        assert {job.id for job in scheduler.get_jobs()} == set(engine_scheduler.JOBS)
        assert all(job.misfire_grace_time is None and job.coalesce for job in scheduler.get_jobs())
    finally:
        scheduler.shutdown()
    assert set(stored_jobs(ctx)) == set(engine_scheduler.JOBS)


def test_a_restart_keeps_the_next_run_times(ctx: ServiceContext, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine_scheduler.start_scheduler(ctx, settings=settings).shutdown()
    before = stored_jobs(ctx)
    engine_scheduler.start_scheduler(ctx, settings=settings).shutdown()
    assert stored_jobs(ctx) == before


def test_a_run_missed_while_the_service_was_down_runs_once_at_start(
        ctx: ServiceContext, tmp_path: Path, ran: Ran) -> None:
    settings = Settings(data_dir=tmp_path)
    scheduler = engine_scheduler.start_scheduler(ctx, settings=settings)
    # The service goes down; the sweep was due three times meanwhile (an hour ago, every 15 min).
    scheduler.modify_job("deadline-sweep",
                         next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    scheduler.shutdown()
    scheduler = engine_scheduler.start_scheduler(ctx, settings=settings)
    try:
        assert ran.done.wait(10)
    finally:
        scheduler.shutdown()
    assert ran == ["deadline-sweep"]  # once, not once per missed interval


def test_a_changed_interval_replaces_the_stored_job(ctx: ServiceContext, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine_scheduler.start_scheduler(ctx, settings=settings).shutdown()
    ctx.policy = ctx.policy.model_copy(update={"schedule": ctx.policy.schedule.model_copy(
        update={"sweep_every_minutes": 5})})
    scheduler = engine_scheduler.start_scheduler(ctx, settings=settings)
    try:
        assert str(scheduler.get_job("deadline-sweep").trigger) == "interval[0:05:00]"
    finally:
        scheduler.shutdown()


def test_run_job_runs_the_plain_function_when_prefect_is_off(ctx: ServiceContext, tmp_path: Path) -> None:
    result = engine_scheduler.run_job("deadline-sweep", ctx, Settings(data_dir=tmp_path))
    assert result["visited"] == 0 and result["chunks"] == 0


def _children() -> set[str]:
    return {pid for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()}


def test_without_a_prefect_server_jobs_run_in_process_and_start_no_second_server(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    ctx.policy = ctx.policy.model_copy(update={"schedule": ctx.policy.schedule.model_copy(
        update={"use_prefect": True})})
    before = _children()
    with temporary_settings(updates={PREFECT_API_URL: None}):
        result = engine_scheduler.run_job("deadline-sweep", ctx, Settings(data_dir=tmp_path))
    assert result["visited"] == 0 and result["chunks"] == 0
    assert _children() == before  # Prefect's temporary server would be a child process


def test_quiet_prefect_defaults_turn_telemetry_off_unless_the_operator_set_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from duban.flows.common import quiet_prefect_defaults

    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "true")
    quiet_prefect_defaults()
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true"  # the operator's choice stays


def test_a_changed_timezone_replaces_the_stored_crons(ctx: ServiceContext, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine_scheduler.start_scheduler(ctx, settings=settings).shutdown()
    ctx.policy = ctx.policy.model_copy(update={"schedule": ctx.policy.schedule.model_copy(
        update={"timezone": "Asia/Urumqi"})})
    scheduler = engine_scheduler.start_scheduler(ctx, settings=settings)
    try:
        assert str(scheduler.get_job("monthly-cycle").trigger.timezone) == "Asia/Urumqi"
    finally:
        scheduler.shutdown()


def test_a_bad_cron_names_its_key(ctx: ServiceContext) -> None:
    ctx.policy = ctx.policy.model_copy(update={"schedule": ctx.policy.schedule.model_copy(
        update={"monthly_cron": "every day at nine"})})
    with pytest.raises(ConfigError, match="schedule.monthly_cron"):
        engine_scheduler.triggers(ctx)


def test_a_flow_run_started_from_a_process_on_its_own_clock_is_given_that_time(ctx: ServiceContext) -> None:
    from duban.clock import SimulatedClock, SystemClock, parse_local
    from duban.flows.common import flow_context, run_parameters

    assert run_parameters(ServiceContext(engine=ctx.engine, clock=SystemClock())) == {}
    demo = ServiceContext(engine=ctx.engine, clock=SimulatedClock(parse_local("2023-03-24 18:00")))
    parameters = run_parameters(demo)
    assert set(parameters) == {"now"}  # never the database URL: Prefect stores parameters
    url = ctx.engine.url.render_as_string(hide_password=False)
    assert flow_context(url, **parameters).now() == demo.now()
