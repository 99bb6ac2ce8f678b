"""A Prefect server with two process workers runs the engine against one PostgreSQL database.

`scripts/prefect-stack start` (the documented way, docs/engine.md) starts the server on loopback,
the work pool, two workers and the four deployments, pointed at the test's database. Two sweeps
are asked for at once, then two deliveries at once to a loopback SMTP server; each ladder step,
audit event and email must exist exactly once however the runs overlapped. Which worker ran what
is printed (`pytest -s`). Then an operator's Prefect CLI commands and worker restart are tried on
the same stack. The stack is stopped whatever happens, its processes found by the
marker in their environment.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.models import AuditEvent, Notification, PressureStep
from duban.services import CaseService, ServiceContext
from tests.factories import transferred, unit_actor, world
from tests.notify.conftest import SmtpServer, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CASES = 150
# Deadline 03-08: 重要工作提示 (automatic) reached; remind and copy_notice passed over (skipped).
SWEEP_AT = "2023-03-15 08:30"
STEPS = {"work_reminder": CASES}
RECORDED = ("remind", "copy_notice", "work_reminder")
MAIL = {"work_reminder": CASES}  # to 城关区人民政府's head, from the directory
RUN_TIMEOUT = 150.0
log = logging.getLogger(__name__)  # which worker ran what: pytest -o log_cli=true --log-cli-level=INFO


@dataclass
class Stack:
    api: str
    folder: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROOT / "scripts" / "prefect-stack"), *args], env=self.env,
                              capture_output=True, text=True, timeout=180, check=False)

    def log(self, name: str) -> str:
        path = self.folder / "logs" / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@pytest.fixture
def database(engine: Engine, backend: str) -> ServiceContext:
    if backend != "postgresql":
        pytest.skip("workers share one PostgreSQL database (SQLite: the in-process scheduler)")
    ctx = world(engine, start="2023-03-01 10:00")
    for i in range(CASES):
        # Anonymous: the workers' runs have no SMS gateway; the complainants' notices are
        # tests/notify/test_citizen_notices.py's.
        number = transferred(ctx, title=f"拖欠工程款第{i}件", complainant_real_name=False)
        # The unit signs for it (签收): the sweeps' steps below are the ladder's only.
        CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, "GS-LZ-CG-GOV"))
    return ctx


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(database: ServiceContext, mail: SmtpServer, tmp_path: Path) -> Iterator[Stack]:
    folder = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        DUBAN_PREFECT_STACK_DIR=str(folder), DUBAN_PYTHON=sys.executable,
        DUBAN_DATABASE_URL=database.engine.url.render_as_string(hide_password=False),
        DUBAN_SMTP_HOST="127.0.0.1", DUBAN_SMTP_PORT=str(mail.port), DUBAN_SMTP_SENDER="duban@gs.example",
        DUBAN_PREFECT_PORT=str(free_port()),
        PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    script = str(ROOT / "scripts" / "prefect-stack")
    try:
        started = subprocess.run([script, "start", "--workers", "2", "--paused"], env=env,
                                 capture_output=True, text=True, timeout=240, check=False)
        assert started.returncode == 0, f"stack did not start:\n{started.stdout}\n{started.stderr}"
        log.info("%s", started.stdout)
        yield Stack(api=started.stdout.strip().splitlines()[-1], folder=folder, env=env)
    finally:
        stopped = subprocess.run([script, "stop"], env=env, capture_output=True, text=True, timeout=60,
                                 check=False)
        log.info("%s%s", stopped.stdout, stopped.stderr)
        left = subprocess.run([script, "status"], env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert left.returncode == 3, f"processes left behind: {left.stdout}"


def run_twice_at_once(api: str, deployment: str, parameters: dict[str, Any]) -> list[Any]:
    """Two runs of `deployment` asked for together; waits until both are final."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api) as client:
        found = client.read_deployment_by_name(deployment)
        runs = [client.create_flow_run_from_deployment(found.id, parameters=parameters) for _ in range(2)]
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:
            runs = [client.read_flow_run(run.id) for run in runs]
            if all(run.state is not None and run.state.is_final() for run in runs):
                return runs
            if time.monotonic() > deadline:
                states = [run.state.name if run.state else None for run in runs]
                raise AssertionError(f"{deployment}: runs not finished after {RUN_TIMEOUT:.0f} s: {states}")
            time.sleep(0.5)


def who_ran(stack: Stack, runs: list[Any], message: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Flow-run name -> (worker and when it took the run, the result the flow logged), from the
    workers' logs (a process worker prints its runs' logs). A run can be COMPLETED in the API a
    moment before its worker's log file has the line, so this waits (bounded) for every result."""
    deadline = time.monotonic() + 30
    while True:
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for i in (1, 2):
            worker, text = f"duban-worker-{i}", stack.log(f"worker-{i}.log")
            for run in runs:
                taken = re.search(rf"^(\S+) .*submitting flow run '{run.id}'", text, re.M)
                if taken is None:
                    continue
                logged = re.search(rf"Flow run '{re.escape(run.name)}' - {message}: (\{{.*\}})", text)
                found[run.name] = (f"{worker} at {taken.group(1)}",
                                   ast.literal_eval(logged.group(1)) if logged else {})
        complete = len(found) == len(runs) and all(result for _, result in found.values())
        if complete or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def count(ctx: ServiceContext, model: Any) -> int:
    with Session(ctx.engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_two_workers_sweep_and_send_at_once_and_everything_happens_exactly_once(
        database: ServiceContext, mail: SmtpServer, stack: Stack) -> None:
    ctx = database
    sweeps = run_twice_at_once(stack.api, "deadline-sweep/duban", {"now": SWEEP_AT, "chunk_size": 10})
    assert [run.state.type.value for run in sweeps] == ["COMPLETED", "COMPLETED"], stack.log("worker-1.log")
    ran = who_ran(stack, sweeps, "deadline sweep")
    log.info("sweeps: %s; timings: %s",
             {name: (worker, result.get("steps"), result.get("chunks"))
              for name, (worker, result) in ran.items()},
             [(r.name, str(r.start_time), str(r.end_time)) for r in sweeps])
    assert len(ran) == 2  # both runs were taken by a worker of the pool
    # Cross-check from the workers' logs when both result lines were captured (Prefect's capture
    # of a flow-run subprocess's log can drop a line under load); the proof is the database below.
    logged = [result for _, result in ran.values() if "steps" in result]
    if len(logged) == 2:
        assert sum((Counter(result["steps"]) for result in logged), Counter()) == STEPS

    with Session(ctx.engine) as session:
        events = Counter(session.execute(select(AuditEvent.case_id, AuditEvent.action).where(
            AuditEvent.action.in_(RECORDED))).all())  # type: ignore[attr-defined]
        steps = Counter(session.execute(select(PressureStep.case_id, PressureStep.step)).all())
        kinds = Counter(session.scalars(select(Notification.kind)))
    assert len(events) == CASES and set(events.values()) == {1}
    assert len(steps) == len(RECORDED) * CASES and set(steps.values()) == {1}
    assert kinds == MAIL

    sends = run_twice_at_once(stack.api, "deliver-notifications/duban", {"now": "2023-03-22 09:00"})
    assert [run.state.type.value for run in sends] == ["COMPLETED", "COMPLETED"], stack.log("worker-2.log")
    ran = who_ran(stack, sends, "delivery")
    log.info("deliveries: %s; timings: %s",
             {name: (worker, result.get("sent")) for name, (worker, result) in ran.items()},
             [(r.name, str(r.start_time), str(r.end_time)) for r in sends])
    assert len(ran) == 2
    sent = [result["sent"] for _, result in ran.values() if "sent" in result]
    if len(sent) == 2:  # as above: the log cross-check; the mailbox below is the proof
        assert sum(sent) == sum(MAIL.values())
    with Session(ctx.engine) as session:
        sent = Counter(session.scalars(select(Notification.message_id)))
        assert set(session.scalars(select(Notification.status))) == {"sent"}
    assert Counter(mail.mailbox.message_ids()) == sent  # every email once, none twice
    assert count(ctx, Notification) == sum(MAIL.values())
    ask_prefects_cli_what_ran(stack, sweeps[0])
    watch_a_worker_die_and_restart_it(stack)


def ask_prefects_cli_what_ran(stack: Stack, sweep: Any) -> None:
    """The commands an operator types answer with the pinned Prefect (they were 422 before the
    server's shim, duban/flows/prefect_server.py)."""
    env = {**stack.env, "PREFECT_API_URL": stack.api, "COLUMNS": "250"}  # Rich: no cut names
    prefect = str(Path(sys.executable).with_name("prefect"))

    def cli(*args: str) -> str:
        done = subprocess.run([prefect, *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    assert "deadline-sweep/duban" in cli("deployment", "ls")
    assert "duban" in cli("work-pool", "ls")
    assert sweep.name in cli("flow-run", "ls", "--limit", "20")
    assert "deadline sweep" in cli("flow-run", "logs", str(sweep.id))


def watch_a_worker_die_and_restart_it(stack: Stack) -> None:
    """What an operator does when a worker dies: status says which, restart-worker brings it
    back, and its log keeps what it said before (appended, never truncated)."""
    healthy = stack.run("status")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert re.search(r"worker 1: process alive .*Prefect: ONLINE", healthy.stdout), healthy.stdout
    before = stack.log("worker-1.log")
    pid = int(re.search(r"worker 1: process alive \(pid (\d+)", healthy.stdout).group(1))  # type: ignore[union-attr]
    os.kill(pid, 9)
    deadline = time.monotonic() + 10
    while (dead := stack.run("status")).returncode == 0:
        assert time.monotonic() < deadline, dead.stdout
        time.sleep(0.2)
    assert dead.returncode == 1 and "worker 1: process DEAD" in dead.stdout, dead.stdout
    assert "worker 2: process alive" in dead.stdout, dead.stdout

    restarted = stack.run("restart-worker", "1")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    again = stack.run("status")
    assert again.returncode == 0 and "worker 1: process alive" in again.stdout, again.stdout
    assert stack.log("worker-1.log").startswith(before)  # the dead worker's lines are kept
