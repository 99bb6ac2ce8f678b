"""Transitions per second through the service layer, and deadline recompute over many open cases.

    python -m bench.engine_bench [--cases 100000] [--actions 3500] [--database URL]
                                 [--part all|transitions|recompute]

Run from the repository root. `--database` must name an empty database (default: a temporary
SQLite file). The recompute loads `--cases` open cases by Core insert, then measures in a fresh
process (its peak memory is the recompute's, not the loader's): a scan with the calendar
unchanged, then, after publishing 2027's holidays, finding the moved deadlines and storing them
with their audit events. Prints figures and BENCH lines (bench/common.py); asserts nothing about
time (a loaded machine is slower, not wrong).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, select

from bench.common import backend_of, emit, memory_mb
from duban.clock import SimulatedClock, parse_local
from duban.db import create_all, make_engine
from duban.models import Case, Org
from duban.services import Actor, CaseService, ServiceContext
from duban.services.orgs import install_orgs
from duban.services.recompute import apply_moved, find_moved
from duban.workcal import load_calendar_book
from tests.factories import ORGS, complaint

# A final report states 是否属实 and what was done (policy [handling_report]).
REPORTED = {"finding": "true", "actions_taken": "已核实并处理"}

DISPATCHER = Actor("bench", "dispatcher")
SUPERVISOR = Actor("bench", "supervisor")


ROOT = Path(__file__).resolve().parents[1]
CALENDAR_2027 = ('year = 2027\n[[holidays]]\nname = "元旦"\nstart = 2027-01-01\nend = 2027-01-03\n'
                 '[[holidays]]\nname = "春节"\nstart = 2027-02-05\nend = 2027-02-12\n')


def transitions(ctx: ServiceContext, n_actions: int) -> None:
    service = CaseService(ctx)
    with Session(ctx.engine) as session:
        unit_id = session.exec(select(Org.id).where(Org.code == "GS-LZ-CG-GOV")).one()
    unit = Actor("bench-unit", "unit", unit_id)
    cycle = [("transfer", DISPATCHER, {"unit": "GS-LZ-CG-GOV"}),
             ("submit_report", unit, {**REPORTED, "text": "办理报告"}),
             ("send_back", SUPERVISOR, {"reasons": "事实不清"}),
             ("submit_report", unit, {**REPORTED, "text": "再报"}),
             ("approve", SUPERVISOR, {}), ("close", SUPERVISOR, {"reason": "declined"})]
    n_cases = n_actions // (len(cycle) + 1)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n_cases):
        number = service.register(complaint(title=f"基准事项{i}"), actor=DISPATCHER).case.number
        for action, actor, form in cycle:
            service.act(number, action, actor=actor, form=form)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    done = n_cases * (len(cycle) + 1)
    print(f"service layer: {done} actions (register + 6 transitions per case) in {elapsed:.2f} s "
          f"= {done / elapsed:,.0f} actions/s, {elapsed / done * 1000:.2f} ms each, "
          f"{cpu / done * 1000:.3f} ms of process CPU each (load {os.getloadavg()[0]:.2f})")
    emit("service_actions", done / elapsed, "actions/s", peak_mb=memory_mb(),
         backend=ctx.engine.dialect.name, actions=done, cpu_ms=round(cpu / done * 1000, 3),
         note="register + transfer, report, send back, report, approve, close; one transaction each")


def open_cases(ctx: ServiceContext, n_cases: int) -> Iterator[list[dict[str, object]]]:
    """`n_cases` transferred cases whose handling limits started over Nov-Dec 2026, in chunks:
    those ending in 2027 are provisional until 2027's holidays are published."""
    with Session(ctx.engine) as session:
        office = session.exec(select(Org).where(Org.code == "GS")).one()
        unit = session.exec(select(Org).where(Org.code == "GS-LZ-CG-GOV")).one()
    now = parse_local("2026-12-01 10:00")
    cal = ctx.calendars.official
    due = {}
    for day in range(60):
        start = dt.date(2026, 11, 1) + dt.timedelta(days=day)
        answer = cal.add_workdays(start, 15)
        due[day] = (start, answer.date, answer.provisional)
    rows: list[dict[str, object]] = []
    for i in range(n_cases):
        start, deadline, provisional = due[i % 60]
        rows.append(dict(
            number=f"B-{i:07d}", title="基准", summary="", category="other", channel="phone",
            priority="normal", office_id=office.id, level="province", state="transferred",
            disposition="transfer", unit_id=unit.id, priority_rank=2, matter_key=f"k{i}",
            received_at=now, updated_at=now, deadline_kind="handling", deadline_start=start,
            deadline_days=15, deadline_unit="workdays", extension_days=0, deadline_on=deadline,
            deadline_provisional=provisional, return_count=0, repeat_count=0, version=1,
            audit_seq=0, audit_hash=""))
        if len(rows) == 20_000:
            yield rows
            rows = []
    if rows:
        yield rows


def load(ctx: ServiceContext, n_cases: int) -> None:
    t = time.perf_counter()
    with ctx.engine.begin() as conn:
        for rows in open_cases(ctx, n_cases):
            conn.execute(insert(Case), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE cases"))  # as autovacuum would soon after a bulk load
    print(f"loaded {n_cases:,} open cases in {time.perf_counter() - t:.1f} s", flush=True)


def recompute_once(url: str, override: Path) -> dict[str, object]:
    """In this (fresh) process: the scan with nothing changed, then find and store what moved."""
    engine = make_engine(url)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2026-12-01 10:00")))
    t = time.perf_counter()
    find_moved(ctx)  # the calendar has not changed: nothing moves
    unchanged = time.perf_counter() - t
    ctx.calendars = load_calendar_book(override)
    t = time.perf_counter()
    moved = find_moved(ctx)
    found = time.perf_counter() - t
    backends = _backend_pids(engine)
    t, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(backends)
    apply_moved(ctx, moved)
    applied = time.perf_counter() - t
    # CPU seconds vary far less than wall time on a shared machine: ours, and the server's
    # backends of this engine's pool (when the server runs here and /proc shows them).
    cpu = time.process_time() - cpu
    server = _server_cpu(_backend_pids(engine, backends)) - server
    engine.dispose()
    return {"unchanged": unchanged, "found": found, "applied": applied, "moved": len(moved),
            "client_cpu": cpu, "server_cpu": server, "peak_mb": memory_mb()}


def _backend_pids(engine: Any, known: set[int] | None = None) -> set[int]:
    """The server processes connected to the bench's database (PostgreSQL; none for SQLite):
    the pool keeps the writers' connections open until `dispose`."""
    pids = set(known or ())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            pids |= set(conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()").scalars())
    return pids


def _server_cpu(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # another machine's server, or not ours to read
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def recompute(ctx: ServiceContext, url: str, n_cases: int, override: Path) -> None:
    load(ctx, n_cases)
    (override / "calendar").mkdir(parents=True, exist_ok=True)
    (override / "calendar" / "2027.toml").write_text(CALENDAR_2027, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bench.engine_bench", "--recompute-only", url,
                           "--override", str(override)], cwd=ROOT, check=True, capture_output=True,
                          text=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    server = f", the server's {r['server_cpu']:.1f} s" if backend_of(url) == "postgresql" else ""
    print(f"recompute over {n_cases:,} open cases: scan with no change {r['unchanged']:.2f} s; "
          f"after publishing 2027, found {r['moved']:,} moved in {r['found']:.2f} s, "
          f"stored them with audit events in {r['applied']:.2f} s (CPU: ours {r['client_cpu']:.1f} s"
          f"{server}); peak RSS {r['peak_mb']:.0f} MB; "
          f"load {os.getloadavg()[0]:.1f}")
    backend = backend_of(url)
    emit("recompute", r["found"] + r["applied"], "s", peak_mb=r["peak_mb"], backend=backend,
         cases=n_cases, note=f"{r['moved']:,} deadlines moved, each with an audit event")
    emit("recompute_scan", r["unchanged"], "s", peak_mb=r["peak_mb"], backend=backend, cases=n_cases,
         note="calendar unchanged: nothing moves")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=3_500)
    parser.add_argument("--database", default=None, help="an empty database (default: temporary SQLite)")
    parser.add_argument("--part", choices=("all", "transitions", "recompute"), default="all")
    parser.add_argument("--recompute-only", default=None, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--override", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.recompute_only:
        print(json.dumps(recompute_once(args.recompute_only, args.override)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        create_all(engine)
        install_orgs(engine, ORGS)
        ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2026-11-02 10:00")))
        print(f"database: {engine.url.get_backend_name()}")
        if args.part in ("all", "transitions"):
            transitions(ctx, args.actions)
        if args.part in ("all", "recompute"):
            recompute(ctx, url, args.cases, Path(tmp) / "override")
        engine.dispose()


if __name__ == "__main__":
    main()
