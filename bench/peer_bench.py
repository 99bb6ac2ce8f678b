"""Duban's engine against a peer, SpiffWorkflow (the Python BPMN engine), on the same case path.

    python -m bench.peer_bench [--instances 500] [--rounds 3] [--database URL] [--cases N]
    python -m bench.peer_bench --profile duban|spiff-held|spiff-reload [--instances 300]

Run from the repository root (`-m`, so `tests.factories` imports). Both engines take each case
along the same path: received -> transfer -> submit_report -> review, returned -> submit_report
-> review, approved -> close, with a deadline timer on the handling step (Duban: a deadline
column from the working-day calendar; Spiff: the boundary timer in bench/peer/case_process.bpmn).
Both persist one transaction per step to the same kind of database: Duban its case row, the
hash-chained audit event and what the step records (report, review, number sequence), about six
statements per step through the ORM; Spiff one row per instance holding the serialized workflow
(BpmnWorkflowSerializer JSON, spec included, ~15 KB), updated per step with Core.

Spiff runs two ways, because "a step" means two things for a library that holds state in objects:
  held    the workflow stays in memory between steps; each step only writes it (the cheapest way
          to drive Spiff, but a service handling one request per action cannot do it);
  reload  each step reads the row, deserializes, runs the task and writes it back in one
          transaction (row locked on PostgreSQL) -- what Duban's `act` does with its case row.
Each engine runs in its own subprocess so its peak RSS is its own (imports included) and neither
warms the other's caches; rounds interleave them and each engine's best round is shown. One
unmeasured warm-up instance per engine run. Every instance's outcome is read back from the
database after the clock stops and printed, so a fast wrong run shows. Prints figures and BENCH
lines (bench/common.py: each engine's instances/s, and Duban's ratio to each Spiff way); asserts
nothing about time (tests/bench checks the paths). `--cases` is accepted for `duban bench` and
changes nothing (`--instances` sets the size).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.common import backend_of, emit

ROOT = Path(__file__).resolve().parents[1]
BPMN_FILE = Path(__file__).resolve().parent / "peer" / "case_process.bpmn"
PROCESS_ID = "duban_case"
UNIT = "GS-LZ-CG-GOV"
ENGINES = ("duban", "spiff-held", "spiff-reload")

# The path, step by step, with what the person at that step gives. Duban's review is two actions
# (send_back / approve); in the BPMN it is one user task whose `approved` drives the gateway.
DUBAN_PATH: list[tuple[str, str, dict[str, Any]]] = [
    ("transfer", "dispatcher", {"unit": UNIT}),
    ("submit_report", "unit", {"finding": "true", "actions_taken": "约谈城关区住建局",
                               "text": "已约谈城关区住建局，制定分期付款计划。"}),
    ("send_back", "supervisor", {"reasons": "事实不清，未附付款凭证"}),
    ("submit_report", "unit", {"finding": "true", "actions_taken": "首期款已支付",
                               "text": "补充付款凭证，首期款已支付。"}),
    ("approve", "supervisor", {}),
    ("close", "supervisor", {"reason": "declined"}),
]
SPIFF_PATH: list[tuple[str, dict[str, Any]]] = [
    ("transfer", {"unit": UNIT}),
    ("submit_report", {"text": "已约谈城关区住建局，制定分期付款计划。"}),
    ("review", {"approved": False, "reasons": "事实不清，未附付款凭证"}),
    ("submit_report", {"text": "补充付款凭证，首期款已支付。"}),
    ("review", {"approved": True, "reasons": ""}),
    ("close", {}),
]
# What registration gives Duban (tests.factories.complaint); Spiff gets it as start data.
COMPLAINT: dict[str, Any] = dict(
    office_code="GS", title="城关区住建局拖欠某建设集团工程款4216万元", summary="反映人称工程已完工三年。",
    category="arrears", channel="phone", priority="enterprise", complainant_name="测试反映人",
    complainant_phone="19900123456", complainant_real_name=True, subject_name="城关区住建局",
    subject_org_code="GS-LZ-CG-ZJJ",
)


@dataclass
class Run:
    """What one engine did: timing, memory, and every instance's outcome read back afterwards."""

    engine: str
    version: str
    database: str
    instances: int
    transactions: int
    seconds: float
    cpu_seconds: float  # this process only: steadier than wall time on a shared machine
    rss_setup_mb: float
    rss_peak_mb: float
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    stored_bytes: int = 0  # Spiff only: the size of one finished instance's serialization

    @property
    def per_second(self) -> float:
        return self.instances / self.seconds


def rss_mb() -> float:
    """Resident memory now (Linux): the baseline before the timed part."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def describe(engine: Any) -> str:
    """Backend and server version, e.g. `sqlite 3.40.1` (known once the engine has connected)."""
    info = engine.dialect.server_version_info or ()
    return f"{engine.url.get_backend_name()} {'.'.join(map(str, info))}".strip()


# -- Duban ----------------------------------------------------------------------------------------

def run_duban(*, instances: int, url: str, warmup: int = 1) -> Run:
    """Register and walk `instances` cases through CaseService, one transaction per action.

    Imports are local so the Spiff subprocess never loads Duban (and this one never loads Spiff).
    """
    from sqlmodel import Session, select

    from duban.clock import SimulatedClock, parse_local
    from duban.db import create_all, make_engine
    from duban.models import Case, CaseCreate
    from duban.services import Actor, CaseService, ServiceContext
    from duban.services.orgs import install_orgs
    from tests.factories import ORGS

    engine = make_engine(url)
    create_all(engine)
    install_orgs(engine, ORGS)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2026-11-02 10:00")))
    service = CaseService(ctx)
    actors = {"dispatcher": Actor("bench-dispatcher", "dispatcher"),
              "supervisor": Actor("bench-supervisor", "supervisor"),
              "unit": Actor("bench-unit", "unit", ctx.orgs.by_code(UNIT).id)}
    token = f"{time.time_ns():x}"  # titles unique per run: a rerun on PostgreSQL links no repeats

    def one(title: str) -> str:
        number = service.register(CaseCreate(**{**COMPLAINT, "title": title}),
                                  actor=actors["dispatcher"]).case.number
        for action, role, form in DUBAN_PATH:
            service.act(number, action, actor=actors[role], form=form)
        return number

    for i in range(warmup):
        one(f"预热{token}-{i}")
    rss_setup = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    numbers = [one(f"基准事项{token}-{i}") for i in range(instances)]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    with Session(engine) as session:
        rows = session.exec(select(Case.state, Case.return_count).where(Case.number.in_(numbers))).all()
    engine.dispose()
    return Run(engine="duban", version=version("duban"), database=describe(engine),
               instances=instances, transactions=instances * (1 + len(DUBAN_PATH)),
               seconds=seconds, cpu_seconds=cpu,
               rss_setup_mb=rss_setup, rss_peak_mb=peak_mb(),
               outcomes=[{"state": state, "returns": returns} for state, returns in rows])


# -- SpiffWorkflow --------------------------------------------------------------------------------

def load_spec() -> Any:
    """Parse and schema-validate the BPMN once; every instance shares the spec."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator

    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_file(str(BPMN_FILE))
    return parser.get_spec(PROCESS_ID)


def start_workflow(spec: Any, data: dict[str, Any]) -> Any:
    """A new instance with the registration data, run to its first user task (transfer)."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    workflow = BpmnWorkflow(spec)
    first = workflow.get_next_task(state=TaskState.READY)
    first.data.update(data)
    workflow.do_engine_steps()
    return workflow


def complete(workflow: Any, name: str, data: dict[str, Any]) -> None:
    """Complete the ready user task `name` with what the person gives, then run the engine on."""
    from SpiffWorkflow.util.task import TaskState

    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    if task is None or task.task_spec.name != name:
        found = task.task_spec.name if task is not None else None
        raise RuntimeError(f"expected user task {name!r} to be ready, found {found!r}")
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def status_of(workflow: Any) -> str:
    """The ready user task's name, or `completed`: a queryable column beside the blob."""
    from SpiffWorkflow.util.task import TaskState

    if workflow.is_completed():
        return "completed"
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    return task.task_spec.name if task is not None else "waiting"


def reviews_of(workflow: Any) -> int:
    from SpiffWorkflow.util.task import TaskState

    return len(workflow.get_tasks(spec_name="review", state=TaskState.COMPLETED))


def store_engine(url: str) -> Any:
    """SQLAlchemy engine for Spiff's table with the pragmas of duban/db.py (WAL, synchronous=NORMAL).

    Mirrored, not imported, so the Spiff subprocess's memory holds no Duban modules.
    """
    from sqlalchemy import create_engine, event, make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})

    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    event.listen(engine, "connect", pragmas)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return engine


def spiff_table() -> Any:
    from sqlalchemy import Column, Integer, MetaData, String, Table, Text

    return Table("peer_spiff_workflows", MetaData(),
                 Column("id", Integer, primary_key=True),
                 Column("status", String(32), nullable=False, index=True),
                 Column("serialization", Text, nullable=False))


def run_spiff(*, instances: int, url: str, reload: bool, warmup: int = 1) -> Run:
    """Run `instances` workflows; after every step store the serialized workflow in one transaction.

    `reload`: each step loads and deserializes the row first, as a request handler would.
    """
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from sqlalchemy import insert, select, update

    spec = load_spec()
    serializer = BpmnWorkflowSerializer()
    engine = store_engine(url)
    table = spiff_table()
    table.drop(engine, checkfirst=True)  # the bench's own table: each run starts empty
    table.create(engine)
    row = table.c.id

    def save(conn: Any, instance_id: int, workflow: Any) -> None:
        conn.execute(update(table).where(row == instance_id).values(
            status=status_of(workflow), serialization=serializer.serialize_json(workflow)))

    def one() -> int:
        workflow = start_workflow(spec, COMPLAINT)
        with engine.begin() as conn:
            instance_id = conn.execute(insert(table).values(
                status=status_of(workflow), serialization=serializer.serialize_json(workflow)
            )).inserted_primary_key[0]
        for name, data in SPIFF_PATH:
            with engine.begin() as conn:
                if reload:
                    stored = conn.execute(select(table.c.serialization).where(row == instance_id)
                                          .with_for_update()).scalar_one()
                    workflow = serializer.deserialize_json(stored)
                complete(workflow, name, data)
                save(conn, instance_id, workflow)
        return int(instance_id)

    for _ in range(warmup):
        one()
    rss_setup = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    ids = [one() for _ in range(instances)]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    outcomes, stored_bytes = [], 0
    with engine.connect() as conn:
        for status, blob in conn.execute(select(table.c.status, table.c.serialization).where(row.in_(ids))):
            workflow = serializer.deserialize_json(blob)
            state = "completed" if workflow.is_completed() else status_of(workflow)
            outcomes.append({"state": state, "status": status, "reviews": reviews_of(workflow)})
            stored_bytes = len(blob.encode())
    engine.dispose()
    return Run(engine="spiff-reload" if reload else "spiff-held", version=version("SpiffWorkflow"),
               database=describe(engine), instances=instances,
               transactions=instances * (1 + len(SPIFF_PATH)), seconds=seconds, cpu_seconds=cpu,
               rss_setup_mb=rss_setup, rss_peak_mb=peak_mb(), outcomes=outcomes,
               stored_bytes=stored_bytes)


def run_engine(name: str, *, instances: int, url: str) -> Run:
    if name == "duban":
        return run_duban(instances=instances, url=url)
    return run_spiff(instances=instances, url=url, reload=name == "spiff-reload")


# -- Side by side ---------------------------------------------------------------------------------

def in_subprocess(name: str, *, instances: int, url: str) -> Run:
    """One engine in a fresh interpreter: its peak RSS is its own."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.peer_bench", "--engine", name, "--instances", str(instances),
         "--database", url], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(**data)


def finished_right(run: Run) -> int:
    if run.engine == "duban":
        return sum(o["state"] == "closed" and o["returns"] == 1 for o in run.outcomes)
    return sum(o["state"] == "completed" and o["reviews"] == 2 for o in run.outcomes)


def database_note(runs: list[Run], url: str | None) -> str:
    if url is None:
        return f"{runs[0].database}, a fresh file per engine, WAL, synchronous=NORMAL"
    return (f"{runs[0].database} at the URL given (Duban's tables; Spiff's own table peer_spiff_workflows);"
            " CPU counts the client process only, not the server's")


def print_table(runs: list[Run], *, instances: int, url: str | None) -> None:
    duban = next(r for r in runs if r.engine == "duban")
    labels = {"duban": f"Duban {duban.version}", "spiff-held": "Spiff held", "spiff-reload": "Spiff reload"}
    rows: list[tuple[str, Callable[[Run], str]]] = [
        ("instances/s", lambda r: f"{r.per_second:,.1f}"),
        ("ms per instance", lambda r: f"{r.seconds / r.instances * 1000:.2f}"),
        ("transactions/s", lambda r: f"{r.transactions / r.seconds:,.0f}"),
        ("instances/CPU-s", lambda r: f"{r.instances / r.cpu_seconds:,.1f}"),
        ("peak RSS MB", lambda r: f"{r.rss_peak_mb:.0f}"),
        ("RSS after setup MB", lambda r: f"{r.rss_setup_mb:.0f}"),
        ("peak - setup MB", lambda r: f"{r.rss_peak_mb - r.rss_setup_mb:.1f}"),
        ("stored per instance", lambda r: f"{r.stored_bytes / 1024:.1f} KB" if r.stored_bytes else "rows"),
        ("finished right", lambda r: f"{finished_right(r)}/{r.instances}"),
    ]
    print(f"Peer benchmark: {instances} instances of the case path (start + 6 steps, one return, "
          f"deadline timer), one transaction per step")
    print(f"database: {database_note(runs, url)}")
    print(f"python {platform.python_version()}, SpiffWorkflow {version('SpiffWorkflow')}, "
          f"SQLAlchemy {version('sqlalchemy')}, duban {duban.version}")
    print()
    print(f"{'':22}" + "".join(f"{labels[r.engine]:>16}" for r in runs))
    for title, cell in rows:
        print(f"{title:22}" + "".join(f"{cell(r):>16}" for r in runs))
    print()
    backend = backend_of(url) if url else "sqlite"
    for run in runs:
        emit(f"peer_{run.engine.replace('-', '_')}", run.per_second, "instances/s", peak_mb=run.rss_peak_mb,
             backend=backend, instances=run.instances, finished_right=finished_right(run),
             note=f"{labels[run.engine]}: {run.transactions / run.seconds:,.0f} transactions/s")
    for run in runs:
        if run is duban:
            continue
        speed = duban.per_second / run.per_second
        cpu = run.cpu_seconds / duban.cpu_seconds
        memory = duban.rss_peak_mb / run.rss_peak_mb
        goal = "met" if speed >= 5 else "NOT met"
        print(f"Duban / {labels[run.engine]}: {speed:.2f}x instances/s (goal >= 5x: {goal}), "
              f"{cpu:.2f}x per CPU second; peak RSS {memory:.2f}x")
        emit(f"peer_ratio_{run.engine.split('-')[1]}", speed, "x", peak_mb=None, backend=backend,
             instances=run.instances, cpu_ratio=cpu, memory_ratio=memory,
             note=f"Duban {duban.per_second:,.1f} vs {labels[run.engine]} {run.per_second:,.1f} "
                  f"instances/s; {cpu:.2f}x per CPU second")


def profile(name: str, *, instances: int, url: str) -> None:
    """cProfile one engine in this process: where its time goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    run = run_engine(name, instances=instances, url=url)
    profiler.disable()
    print(f"{name}: {run.per_second:,.1f} instances/s under the profiler ({instances} instances)")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--database", default=None,
                        help="SQLAlchemy URL for both engines (default: a fresh SQLite file each)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma list of " + ", ".join(ENGINES))
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is shown")
    parser.add_argument("--profile", choices=ENGINES, default=None)
    parser.add_argument("--cases", type=int, default=None, help="accepted, ignored (see --instances)")
    parser.add_argument("--engine", choices=ENGINES, default=None, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.engine:
        run = run_engine(args.engine, instances=args.instances, url=args.database)
        print(json.dumps(asdict(run)))
        return
    with tempfile.TemporaryDirectory(prefix="duban-peer-") as tmp:
        def url_for(name: str, round_no: int = 0) -> str:
            return args.database or f"sqlite:///{tmp}/{name}-{round_no}.db"

        if args.profile:
            profile(args.profile, instances=args.instances, url=url_for(args.profile))
            return
        names = [n.strip() for n in args.engines.split(",") if n.strip()]
        if "duban" not in names:
            raise SystemExit("--engines must include duban (the ratio is against it)")
        # Rounds interleave the engines, so a burst of load from elsewhere on a shared machine
        # lands on all of them; each engine's fastest round is shown, with the spread beside it.
        rounds: dict[str, list[Run]] = {name: [] for name in names}
        for round_no in range(args.rounds):
            for name in names:
                rounds[name].append(in_subprocess(name, instances=args.instances,
                                                  url=url_for(name, round_no)))
    runs = [min(rounds[name], key=lambda r: r.seconds) for name in names]
    print_table(runs, instances=args.instances, url=args.database)
    if args.rounds > 1:
        spread = ", ".join(f"{name} {min(r.per_second for r in rs):,.1f}-{max(r.per_second for r in rs):,.1f}"
                           for name, rs in rounds.items())
        print(f"best of {args.rounds} interleaved rounds; instances/s range: {spread}")

if __name__ == "__main__":
    main()
