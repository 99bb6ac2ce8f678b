"""A Prefect server with two process workers runs the engine against one PostgreSQL database.

`scripts/prefect-stack start` (the documented way, docs/engine.md) starts the server on loopback,
Prefect's own database on the same PostgreSQL server, the work pool, two workers and the four
deployments, pointed at the test's database. Two sweeps are asked for at once; a delivery with
the mail server down must end Failed with its counts as an artifact; then two deliveries at once
to a loopback SMTP server; each ladder step, audit event and email must exist exactly once however
the runs overlapped. Then an operator's Prefect CLI commands are tried, and a worker is killed with
its run mid-sweep: the stack must heal alone (Crashed, retried, Completed) with a clean sweep's
totals; `status` names the dead worker and `restart-worker` brings it back. Which worker ran what,
and how long healing took, is logged (`-o log_cli=true --log-cli-level=INFO`). One stack for all
of it (starting one costs most of the test); stopped whatever happens, its processes found by
the marker in their environment.
"""

from __future__ import annotations

import ast
import json
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

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session

from duban.models import AuditEvent, Notification, PressureProposal, PressureStep
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
# Heartbeats every 30 s (Prefect's minimum); a run is Crashed after two are missed (the stack's
# default is three: a test run should heal sooner, and two still tolerate a late heartbeat).
CRASH_AFTER = 60
HEAL_TIMEOUT = 300.0
CRASH_AT = "2023-03-22 08:30"  # 约谈 (interview) falls due for every case: proposed, once each
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


def drop_database(url: URL) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def prefect_database(database: ServiceContext) -> Iterator[URL]:
    """Prefect's own database, beside the test's on the same PostgreSQL server; the stack creates it."""
    url = database.engine.url.set(database=f"{database.engine.url.database}_prefect_stack")
    drop_database(url)  # a previous run's deployments and runs would confuse this one
    yield url
    drop_database(url)


@pytest.fixture
def stack(database: ServiceContext, prefect_database: URL, mail: SmtpServer,
          tmp_path: Path) -> Iterator[Stack]:
    folder = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        DUBAN_PREFECT_STACK_DIR=str(folder), DUBAN_PYTHON=sys.executable,
        DUBAN_DATABASE_URL=database.engine.url.render_as_string(hide_password=False),
        DUBAN_PREFECT_DATABASE_URL=prefect_database.render_as_string(hide_password=False),
        DUBAN_PREFECT_CRASH_AFTER=str(CRASH_AFTER),
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


def run_twice_at_once(api: str, deployment: str, parameters: dict[str, Any], times: int = 2) -> list[Any]:
    """Two (or `times`) runs of `deployment` asked for together; waits until all are final."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api) as client:
        found = client.read_deployment_by_name(deployment)
        runs = [client.create_flow_run_from_deployment(found.id, parameters=parameters) for _ in range(times)]
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

    deliver_with_the_mail_server_down(stack, mail, ctx)
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
    kill_a_worker_and_its_run_mid_sweep_and_watch_the_stack_heal(stack, ctx)
    assert Counter(mail.mailbox.message_ids()) == Counter(  # the healed sweep sent nothing twice
        session_scalars(ctx, select(Notification.message_id)))
    prefect_kept_its_records_in_postgresql(stack)


def session_scalars(ctx: ServiceContext, query: Any) -> list[Any]:
    with Session(ctx.engine) as session:
        return list(session.scalars(query))


def artifact_counts(api: str, run_id: Any) -> dict[str, Any]:
    """The counts table a run published, as key -> count (what its page in the UI shows)."""
    answer = httpx.post(f"{api}/artifacts/filter", timeout=30, json={
        "artifacts": {"flow_run_id": {"any_": [str(run_id)]}}, "limit": 10, "offset": 0})
    answer.raise_for_status()
    tables = [artifact for artifact in answer.json() if artifact["type"] == "table"]
    assert len(tables) == 1, answer.json()
    data = tables[0]["data"]
    return {row["key"]: row["数量"] for row in (data if isinstance(data, list) else json.loads(data))}


def deliver_with_the_mail_server_down(stack: Stack, mail: SmtpServer, ctx: ServiceContext) -> None:
    """A delivery that could not deliver ends Failed, says so in its state and its counts, and
    keeps every message queued for the next run."""
    mail.stop()
    try:
        [down] = run_twice_at_once(stack.api, "deliver-notifications/duban", {"now": "2023-03-15 09:00"},
                                   times=1)
    finally:
        mail.start()
    assert down.state.type.value == "FAILED", (down.state, stack.log("worker-1.log")[-3000:])
    assert f"{sum(MAIL.values())}条未送达" in (down.state.message or ""), down.state.message
    counts = artifact_counts(stack.api, down.id)
    assert counts["retried"] == sum(MAIL.values()) and counts["sent"] == 0, counts
    assert set(session_scalars(ctx, select(Notification.status))) == {"pending"}
    assert mail.mailbox.message_ids() == []


def sweep_runs(ctx: ServiceContext, action: str) -> Counter[Any]:
    with Session(ctx.engine) as session:
        return Counter(session.scalars(select(PressureStep.case_id).where(PressureStep.step == action)))


def worker_processes(stack: Stack, run_id: Any) -> tuple[int, int]:
    """(the worker's pid, the run's process pid): the process whose environment names the run,
    and its parent."""
    marker = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            continue
        if marker in environ and f"DUBAN_PREFECT_STACK={stack.folder}".encode() in environ:
            parent = int(stat.rsplit(b")", 1)[1].split()[1])
            if b"worker" in Path(f"/proc/{parent}/cmdline").read_bytes():
                return parent, int(pid)
    raise AssertionError(f"no process runs flow run {run_id}")


def dead_worker(stack: Stack) -> str:
    """The number of the worker `status` reports DEAD (waits briefly for the kill to land)."""
    deadline = time.monotonic() + 10
    while True:
        status = stack.run("status").stdout
        dead = [line.split()[1].rstrip(":") for line in status.splitlines() if "process DEAD" in line]
        if dead:
            return dead[0]
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def kill_a_worker_and_its_run_mid_sweep_and_watch_the_stack_heal(stack: Stack, ctx: ServiceContext) -> None:
    """SIGKILL to a worker and its run's process while the sweep is half done. Nobody helps: the
    missed heartbeats make the run Crashed (its concurrency slot freed), the automation retries
    it, the other worker finishes it, and every case has its step once, as after a clean sweep."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(stack.api) as client:
        deployment = client.read_deployment_by_name("deadline-sweep/duban")
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters={"now": CRASH_AT, "chunk_size": 1})
        deadline = time.monotonic() + RUN_TIMEOUT
        while not 0 < sum(sweep_runs(ctx, "interview").values()) < CASES // 2:
            assert time.monotonic() < deadline, client.read_flow_run(run.id).state
            time.sleep(0.05)
        worker, process = worker_processes(stack, run.id)
        os.kill(worker, 9)
        os.kill(process, 9)
        killed, done_before = time.time(), sum(sweep_runs(ctx, "interview").values())
        name = dead_worker(stack)
        deadline = time.monotonic() + HEAL_TIMEOUT
        while (state := client.read_flow_run(run.id).state) is None or state.type.value != "COMPLETED":
            assert time.monotonic() < deadline, f"not healed after {HEAL_TIMEOUT:.0f} s: {state}"
            assert state is None or state.type.value not in ("FAILED", "CANCELLED"), state
            time.sleep(0.5)
        history = sorted(client.read_flow_run_states(run.id), key=lambda s: s.timestamp)
        final = client.read_flow_run(run.id)
    names = [state.name for state in history]
    log.info("healing: killed worker %s at %d of %d steps; states %s", name, done_before, CASES, names)
    crashed = names.index("Crashed")
    healed = ["Crashed", "AwaitingRetry", "Running", "Completed"]  # Pending, Submitting between
    assert [name for name in names[crashed:] if name in healed] == healed, names
    assert "heartbeat" in (history[crashed].message or ""), history[crashed].message
    assert final.run_count == 2
    at = {state.name: state.timestamp.timestamp() - killed for state in history[crashed:]}
    log.info("healing: kill -> Crashed %.1f s, -> retry Running %.1f s, -> Completed %.1f s",
             at["Crashed"], at["Running"], at["Completed"])
    steps = sweep_runs(ctx, "interview")
    assert len(steps) == CASES and set(steps.values()) == {1}  # a clean sweep's totals
    with Session(ctx.engine) as session:
        proposals = Counter(session.scalars(select(PressureProposal.case_id).where(
            PressureProposal.action == "interview")))
    assert len(proposals) == CASES and set(proposals.values()) == {1}
    watch_a_worker_die_and_restart_it(stack, int(name))


def prefect_kept_its_records_in_postgresql(stack: Stack) -> None:
    """Prefect's runs and automations are in its PostgreSQL database; deploying again (as every
    start does) updates the automations, never adds a second copy."""
    again = subprocess.run([sys.executable, "-m", "duban.flows.serve", "--pool", "duban", "--paused"],
                           env={**stack.env, "PREFECT_API_URL": stack.api}, capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    url = make_url(stack.env["DUBAN_PREFECT_DATABASE_URL"])
    prefect_db = create_engine(url)
    try:
        with prefect_db.connect() as conn:
            runs = conn.scalar(text("SELECT count(*) FROM flow_run"))
            automations = conn.scalar(text("SELECT count(*) FROM automation"))
    finally:
        prefect_db.dispose()
    assert runs == 6 and automations == 2, (runs, automations)


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


def watch_a_worker_die_and_restart_it(stack: Stack, n: int) -> None:
    """What an operator does when a worker dies (worker `n`, killed above): status says which,
    restart-worker brings it back, and its log keeps what it said before (appended, never
    truncated)."""
    other = 3 - n
    dead = stack.run("status")
    assert dead.returncode == 1 and f"worker {n}: process DEAD" in dead.stdout, dead.stdout
    assert re.search(rf"worker {other}: process alive .*Prefect: ONLINE", dead.stdout), dead.stdout
    before = stack.log(f"worker-{n}.log")

    restarted = stack.run("restart-worker", str(n))
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    again = stack.run("status")
    assert again.returncode == 0 and f"worker {n}: process alive" in again.stdout, again.stdout
    assert stack.log(f"worker-{n}.log").startswith(before)  # the dead worker's lines are kept
