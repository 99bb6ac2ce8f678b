"""Each flow, run once for real under Prefect, against a SQLite file and a loopback SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from duban.config.settings import get_settings
from duban.db import create_all, make_engine
from duban.models import Notification
from duban.services import ServiceContext
from tests.factories import SUPERVISOR, transferred, unit_actor, world
from tests.notify.conftest import SmtpServer, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ServiceContext]]:
    """A database with 30 cases due a reminder on 2023-03-09, one of them verified."""
    url = f"sqlite:///{tmp_path / 'flows.db'}"
    engine = make_engine(url)
    create_all(engine)
    ctx = world(engine, start="2023-03-01 10:00")
    numbers = [transferred(ctx, title=f"第{i}件") for i in range(30)]
    from duban.services import CaseService

    service = CaseService(ctx)
    service.act(numbers[0], "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"), form={"text": "办结"})
    service.act(numbers[0], "approve", actor=SUPERVISOR)
    yield url, ctx
    engine.dispose()


def task_runs(flow_state) -> list[str]:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    flow_run_id = flow_state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=100)
    return sorted(run.name.rsplit("-", 1)[0] for run in runs)


def test_every_flow_runs_under_prefect_with_a_constant_number_of_tasks(
        prefect_harness: None, seeded: tuple[str, ServiceContext],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from duban.flows.callback_sampling import sample_callbacks_flow
    from duban.flows.deadline_sweep import deadline_sweep_flow
    from duban.flows.deliver_notifications import deliver_notifications_flow
    from duban.flows.monthly_cycle import monthly_cycle_flow

    url, ctx = seeded
    state = deadline_sweep_flow(database_url=url, now="2023-03-09 08:30", chunk_size=7,
                                return_state=True)
    result = state.result()
    assert result["steps"] == {"remind": 29} and result["chunks"] == 5
    assert task_runs(state) == ["sweep-due-cases"]  # one task for 30 cases in 5 chunks

    assert sample_callbacks_flow(database_url=url, now="2023-03-09 09:00")["queued"]["callback"] == 1
    monthly = monthly_cycle_flow(database_url=url, now="2023-03-22 09:00")
    assert monthly["reminders"] == 4  # (and last month's report: duban.reports, tested there)

    server = SmtpServer(free_port())
    server.start()
    try:
        monkeypatch.setenv("DUBAN_SMTP_PORT", str(server.port))
        get_settings.cache_clear()
        delivered = deliver_notifications_flow(database_url=url, now="2023-03-22 09:05")
    finally:
        server.stop()
        get_settings.cache_clear()
    with Session(ctx.engine) as session:
        statuses = list(session.scalars(select(Notification.status)))
    # 29 reminders, 3 monthly reminders to offices with an address (GS-LX has none), reports.
    assert delivered["sent"] == len(server.mailbox.messages) == statuses.count("sent")
    subjects = [str(m["Subject"]) for m in server.mailbox.messages]
    assert sum(s.startswith("【催办】") for s in subjects) == 29
    assert sum(s.startswith("【提醒】") for s in subjects) == 3
    assert statuses.count("failed") >= 1


def test_the_serve_script_schedules_the_flows_as_policy_says() -> None:
    from duban.config.policy import load_policy
    from duban.flows.serve import deployments

    policy = load_policy()
    built = {d.flow_name: d for d in deployments(policy)}
    assert set(built) == {"deadline-sweep", "deliver-notifications", "sample-callbacks", "monthly-cycle"}
    sweep = built["deadline-sweep"].schedules[0].schedule
    assert sweep.interval.total_seconds() == policy.schedule.sweep_every_minutes * 60
    assert sweep.timezone == "Asia/Shanghai"
    assert built["monthly-cycle"].schedules[0].schedule.cron == policy.schedule.monthly_cron
    assert built["deadline-sweep"].entrypoint == "flows/deadline_sweep.py:deadline_sweep_flow"
