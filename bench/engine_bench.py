"""Transitions per second through the service layer, and deadline recompute over many open cases.

    python bench/engine_bench.py [--cases 100000] [--actions 3000] [--database URL]

Prints figures; asserts nothing about time (a loaded machine is slower, not wrong).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session, select

from duban.clock import SimulatedClock, parse_local
from duban.db import create_all, make_engine
from duban.models import Case, Org
from duban.services import Actor, CaseService, ServiceContext
from duban.services.orgs import install_orgs
from duban.services.recompute import apply_moved, find_moved
from duban.workcal import load_calendar_book
from tests.factories import ORGS, complaint

DISPATCHER = Actor("bench", "dispatcher")
SUPERVISOR = Actor("bench", "supervisor")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def transitions(ctx: ServiceContext, n_actions: int) -> None:
    service = CaseService(ctx)
    with Session(ctx.engine) as session:
        unit_id = session.exec(select(Org.id).where(Org.code == "GS-LZ-CG-GOV")).one()
    unit = Actor("bench-unit", "unit", unit_id)
    cycle = [("transfer", DISPATCHER, {"unit": "GS-LZ-CG-GOV"}),
             ("submit_report", unit, {"text": "办理报告"}),
             ("send_back", SUPERVISOR, {"reasons": "事实不清"}), ("submit_report", unit, {"text": "再报"}),
             ("approve", SUPERVISOR, {}), ("close", SUPERVISOR, {})]
    n_cases = n_actions // (len(cycle) + 1)
    start = time.perf_counter()
    for i in range(n_cases):
        number = service.register(complaint(title=f"基准事项{i}"), actor=DISPATCHER).case.number
        for action, actor, form in cycle:
            service.act(number, action, actor=actor, form=form)
    elapsed = time.perf_counter() - start
    done = n_cases * (len(cycle) + 1)
    print(f"service layer: {done} actions (register + 6 transitions per case) in {elapsed:.2f} s "
          f"= {done / elapsed:,.0f} actions/s, {elapsed / done * 1000:.2f} ms each")


def recompute(ctx: ServiceContext, n_cases: int, override: Path) -> None:
    with Session(ctx.engine) as session:
        office = session.exec(select(Org).where(Org.code == "GS")).one()
        unit = session.exec(select(Org).where(Org.code == "GS-LZ-CG-GOV")).one()
    now = parse_local("2026-12-01 10:00")
    cal = ctx.calendars.official
    rows = []
    for i in range(n_cases):
        start = dt.date(2026, 11, 1) + dt.timedelta(days=i % 60)
        rows.append(dict(
            number=f"B-{i:07d}", title="基准", summary="", category="other", channel="phone",
            priority="normal", office_id=office.id, level="province", state="transferred",
            disposition="transfer", unit_id=unit.id, priority_rank=2, matter_key=f"k{i}",
            received_at=now, updated_at=now, deadline_kind="handling", deadline_start=start,
            deadline_days=15, deadline_unit="workdays", extension_days=0,
            deadline_on=cal.add_workdays(start, 15).date, deadline_provisional=start.year > 2026,
            return_count=0, repeat_count=0, version=1, audit_seq=0, audit_hash=""))
    t = time.perf_counter()
    with ctx.engine.begin() as conn:
        for i in range(0, len(rows), 20000):
            conn.execute(insert(Case), rows[i:i + 20000])
    print(f"loaded {n_cases:,} open cases in {time.perf_counter() - t:.1f} s")
    for case in rows:
        case["deadline_provisional"] = cal.add_workdays(case["deadline_start"], 15).provisional
    (override / "calendar").mkdir(parents=True, exist_ok=True)
    (override / "calendar" / "2027.toml").write_text(
        'year = 2027\n[[holidays]]\nname = "元旦"\nstart = 2027-01-01\nend = 2027-01-03\n'
        '[[holidays]]\nname = "春节"\nstart = 2027-02-05\nend = 2027-02-12\n', encoding="utf-8")
    t = time.perf_counter()
    find_moved(ctx)  # the calendar has not changed: nothing moves
    unchanged = time.perf_counter() - t
    ctx.calendars = load_calendar_book(override)
    t = time.perf_counter()
    moved = find_moved(ctx)
    found = time.perf_counter() - t
    t = time.perf_counter()
    apply_moved(ctx, moved)
    applied = time.perf_counter() - t
    print(f"recompute over {n_cases:,} open cases: scan with no change {unchanged:.2f} s; "
          f"after publishing 2027, found {len(moved):,} moved in {found:.2f} s, "
          f"stored them with audit events in {applied:.2f} s; peak RSS {peak_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=3_500)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        create_all(engine)
        install_orgs(engine, ORGS)
        ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2026-11-02 10:00")))
        print(f"database: {engine.url.get_backend_name()}")
        transitions(ctx, args.actions)
        recompute(ctx, args.cases, Path(tmp) / "override")
        engine.dispose()


if __name__ == "__main__":
    main()
