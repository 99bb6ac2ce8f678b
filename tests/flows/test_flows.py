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
from tests.factories import REPORTED, SUPERVISOR, transferred, unit_actor, world
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
    for number in numbers:  # signed for (签收): the reminders due are the ladder's only
        service.act(number, "sign_for", actor=unit_actor(ctx, "GS-LZ-CG-GOV"))
    service.act(numbers[0], "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "办结"})
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


def run_artifact(flow_state) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The counts table the run published, as key → count."""
    import json

    from prefect.client.orchestration import get_client

    flow_run_id = str(flow_state.state_details.flow_run_id)
    with get_client(sync_client=True) as client:
        # Posted by hand: the client sends `"task_runs": null`, which the pinned server (FastAPI
        # 0.154) refuses with 422, and an empty task-run filter keeps only a task's artifacts.
        answer = client._client.post("/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 10, "offset": 0,
            "sort": "CREATED_DESC"})
    answer.raise_for_status()
    artifacts = answer.json()
    assert len(artifacts) == 1 and artifacts[0]["type"] == "table", artifacts
    data = artifacts[0]["data"]
    table = data if isinstance(data, list) else json.loads(data)
    return {row["key"]: row["数量"] for row in table}


def run_log(flow_state) -> str:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # sends the queued logs and waits for them
    flow_run_id = flow_state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                                limit=200, offset=0)  # both given: the pinned server wants them
    return "\n".join(log.message for log in logs)


def test_a_delivery_run_with_the_mail_server_down_fails_visibly_and_the_next_one_sends_all_once(
        prefect_harness: None, seeded: tuple[str, ServiceContext],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from duban.flows.deadline_sweep import deadline_sweep_flow
    from duban.flows.deliver_notifications import deliver_notifications_flow

    url, ctx = seeded
    swept = deadline_sweep_flow(database_url=url, now="2023-03-09 08:30", return_state=True)
    counts = run_artifact(swept)
    assert counts["visited"] == 30 and counts["steps.remind"] == 29, counts

    server = SmtpServer(free_port())  # not started: the office's mail server is down
    monkeypatch.setenv("DUBAN_SMTP_PORT", str(server.port))
    get_settings.cache_clear()
    try:
        down = deliver_notifications_flow(database_url=url, now="2023-03-09 09:00", return_state=True)
        assert down.is_failed(), down
        assert "29条未送达" in (down.message or "")
        assert run_artifact(down)["retried"] == 29
        assert down.result(raise_on_failure=False)["retried"] == 29  # what `notify deliver --flow` prints
        assert "not delivered, will retry" in run_log(down)  # duban's warning, in Prefect's log
        with Session(ctx.engine) as session:
            assert set(session.scalars(select(Notification.status))) == {"pending"}  # kept, not dropped

        server.start()
        up = deliver_notifications_flow(database_url=url, now="2023-03-09 10:30", return_state=True)
    finally:
        server.stop()
        get_settings.cache_clear()
    assert up.is_completed(), up
    assert run_artifact(up)["sent"] == 29 == len(server.mailbox.messages)
    assert len(set(server.mailbox.message_ids())) == 29


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
