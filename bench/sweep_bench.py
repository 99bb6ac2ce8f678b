"""Deadline sweep over a million open cases: nothing due, and 10,000 crossing a ladder step.

    python -m bench.sweep_bench [--cases 1000000] [--due 10000] [--chunk 1000] [--keep DIR]
                                [--database URL]

Loads the cases with Core bulk inserts into a temporary SQLite file (WAL, as Duban runs it), or
into `--database` (an empty database, e.g. PostgreSQL):
80 % with a running limit whose next colour change is days away, 20 % red with every ladder
step already fired (nothing left to do until someone acts), and `--due` cases whose deadline
was yesterday, so the first ladder step (催办) and the change to red fall due today. Each sweep
runs in a fresh process, so its peak RSS is its own. Prints figures and BENCH lines
(bench/common.py); asserts nothing on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from bench.common import backend_of, emit
from duban.clock import SimulatedClock, parse_local
from duban.config.policy import load_policy
from duban.db import create_all, make_engine
from duban.models import AuditEvent, Case, Notification, Org, PressureStep
from duban.services import ServiceContext
from duban.services.orgs import install_orgs
from duban.services.pressure import Facts, plan
from duban.workcal import load_calendar_book

QUIET_DAY = "2023-06-13 08:30"  # nothing due
DUE_DAY = "2023-06-14 08:30"  # the --due cases' deadline was 2023-06-13: 催办 today
ORGS = [
    ("GS", "省办", "office", "province", None, "gs@bench.example"),
    ("GS-GOV", "甘肃省人民政府", "government", "province", "GS", "gov@bench.example"),
    ("GS-LZ", "兰州市办", "office", "city", "GS", "lz@bench.example"),
    ("GS-LZ-GOV", "兰州市人民政府", "government", "city", "GS-LZ", "lz-gov@bench.example"),
    *((f"GS-LZ-U{i}", f"兰州市第{i}局", "bureau", "city", "GS-LZ", f"u{i}@bench.example")
      for i in range(20)),
]


class Spec:
    def __init__(self, code: str, name: str, kind: str, level: str, parent: str | None, email: str):
        self.code, self.name, self.kind, self.level, self.parent_code = code, name, kind, level, parent
        self.region_name, self.email, self.head_email, self.autonomous = "", email, "", False


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM). Not ru_maxrss: Linux carries that
    over exec from the parent, which here had just loaded a million rows."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(url: str, n_cases: int, n_due: int) -> float:
    engine = make_engine(url)
    create_all(engine)
    install_orgs(engine, [Spec(*o) for o in ORGS])
    with Session(engine) as session:
        office = session.scalars(select(Org.id).where(Org.code == "GS")).one()
        units = list(session.scalars(select(Org.id).where(Org.kind == "bureau")))
    calendar = load_calendar_book().official
    policy = load_policy()
    quiet_day = parse_local(QUIET_DAY).date()
    due_deadline = dt.date(2023, 6, 13)
    due_start = calendar.workday_before(due_deadline, 15)
    now = parse_local("2023-06-01 09:00")
    plans: dict[dt.date, tuple[dt.date, str, dt.date | None]] = {}

    def quiet(start: dt.date) -> tuple[dt.date, str, dt.date | None]:
        if start not in plans:
            deadline = calendar.add_workdays(start, 15).date
            result = plan(Facts(0, "transferred", "transfer", "handling", start, deadline, 1, None),
                          fired=set(), calendar=calendar, policy=policy, today=quiet_day)
            assert result.look_again_on and result.look_again_on > quiet_day + dt.timedelta(days=1)
            plans[start] = (deadline, result.warning, result.look_again_on)
        return plans[start]

    began = time.perf_counter()
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for i in range(n_cases):
            row: dict[str, object] = dict(
                number=f"B-{i:07d}", title=f"基准事项{i}", summary="", category="arrears",
                channel="phone", priority="normal", office_id=office, level="province",
                state="transferred", disposition="transfer", unit_id=units[i % len(units)],
                priority_rank=2, matter_key=f"k{i}", received_at=now, updated_at=now,
                deadline_kind="handling", deadline_days=15, deadline_unit="workdays",
                extension_days=0, deadline_provisional=False, return_count=0, repeat_count=0,
                version=1, audit_seq=0, audit_hash="", deadline_seq=1, progress_due_on=None)
            if i < n_due:
                row.update(deadline_start=due_start, deadline_on=due_deadline, warning="yellow",
                           sweep_due_on=due_deadline + dt.timedelta(days=1))
            elif i % 5 == 0:  # red, every step fired: nothing to do until someone acts
                row.update(deadline_start=dt.date(2023, 3, 1), deadline_on=dt.date(2023, 3, 22),
                           warning="red", sweep_due_on=None)
            else:
                start = dt.date(2023, 6, 5) + dt.timedelta(days=i % 9)
                deadline, warning, look = quiet(start)
                row.update(deadline_start=start, deadline_on=deadline, warning=warning,
                           sweep_due_on=look)
            batch.append(row)
            if len(batch) == 50_000:
                conn.execute(insert(Case), batch)
                batch = []
        if batch:
            conn.execute(insert(Case), batch)
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load: without row counts the planner
        # walks the whole table for `sweep_due_on <= today` (0.3 s) instead of probing its index.
        with engine.begin() as conn:
            conn.execute(text("ANALYZE cases"))
    elapsed = time.perf_counter() - began
    engine.dispose()
    return elapsed


def sweep_once(url: str, at: str, chunk: int) -> dict[str, object]:
    """In this (fresh) process: one sweep at `at`, with its time and memory."""
    from duban.services.sweeps import run_deadline_sweep

    engine = make_engine(url)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local(at)))
    with engine.connect():
        pass
    before = rss_mb()
    began = time.perf_counter()
    result = run_deadline_sweep(ctx, chunk_size=chunk)
    seconds = time.perf_counter() - began
    with Session(engine) as session:
        counts = {name: session.scalar(select(func.count()).select_from(model))
                  for name, model in (("audit_events", AuditEvent), ("notifications", Notification),
                                      ("pressure_steps", PressureStep))}
    return {"seconds": seconds, "result": result.as_dict(), "rss_before_mb": before,
            "peak_rss_mb": rss_mb("VmHWM"), **counts}


def in_fresh_process(url: str, at: str, chunk: int) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "bench.sweep_bench", "--sweep-only", url, "--at", at,
                          "--chunk", str(chunk)], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--keep", type=Path, default=None, help="build the database in this folder")
    parser.add_argument("--database", default=None, help="an empty database to load (default: SQLite file)")
    parser.add_argument("--sweep-only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--at", default=QUIET_DAY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_only:
        print(json.dumps(sweep_once(args.sweep_only, args.at, args.chunk)))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="duban-sweep-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    if args.database:
        url = args.database
    else:
        if db.exists():
            db.unlink()
        url = f"sqlite:///{db}"
    backend = backend_of(url)
    print(f"{os.cpu_count()} cores; {url if args.database else f'SQLite file {db}'}")
    loaded = load(url, args.cases, args.due)
    size = f"; file {db.stat().st_size / 2**20:.0f} MiB" if not args.database else ""
    print(f"loaded {args.cases:,} open cases ({args.due:,} due tomorrow) in {loaded:.1f} s{size}")
    for figure, label, at in (("sweep_nothing_due", "nothing due", QUIET_DAY),
                              ("sweep_due", f"{args.due:,} cross 催办", DUE_DAY)):
        figures = in_fresh_process(url, at, args.chunk)
        result = figures["result"]
        assert isinstance(result, dict)
        print(f"sweep, {label}: {figures['seconds']:.3f} s; visited {result['visited']:,}, "
              f"steps {result['steps']}, chunks {result['chunks']}; "
              f"RSS {figures['rss_before_mb']:.0f} MB before, peak {figures['peak_rss_mb']:.0f} MB; "
              f"rows now: {figures['audit_events']:,} audit events, "
              f"{figures['notifications']:,} emails queued, {figures['pressure_steps']:,} steps")
        emit(figure, figures["seconds"], "s", peak_mb=figures["peak_rss_mb"], backend=backend,
             cases=args.cases, due=args.due if figure == "sweep_due" else 0,
             note=f"{result['visited']:,} visited, steps {result['steps']}")
    again = in_fresh_process(url, DUE_DAY, args.chunk)
    print(f"the same sweep again (a second run, or a racing one): {again['seconds']:.3f} s, "
          f"visited {again['result']['visited']}")  # type: ignore[index]
    emit("sweep_again", again["seconds"], "s", peak_mb=again["peak_rss_mb"], backend=backend,  # type: ignore[arg-type]
         cases=args.cases, note="the same day again: nothing left to do")
    if args.keep is None:
        for suffix in ("", "-wal", "-shm", ".writer-lock"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        folder.rmdir()


if __name__ == "__main__":
    main()
