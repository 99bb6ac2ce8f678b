"""Monthly report time over a million cases, and the ledger import rate.

    python -m bench.report_bench [--cases 1000000] [--import-rows 100000] [--database URL]
                                 [--period 2023-06] [--keep] [--part all|report|import]

1. Generates `--cases` cases over 2021–2023 for Gansu's 552 demo orgs, with their audit events
   (register, dispatch, reports with the late flag, reviews, returns, extensions, reminders,
   closure), callbacks and progress reports, by Core bulk insert into a temporary SQLite file
   (never through the service layer: that would take hours and is not what is measured), or
   into `--database` (any SQLAlchemy URL; cases already there are reused).
2. In a fresh process (so its memory is the report's, not the generator's), times
   `build_report` for one month (cold, then warm), for the quarter and for the province and one
   city office; then the 台账 and the XLSX for that month.
3. Writes `--import-rows` ledger rows to a CSV and imports them with `duban.importer`, which
   registers them a batch a transaction by the service's rules (services/bulkregister.py). Into
   a temporary SQLite file, or into `--database` when given.

Prints figures and BENCH lines (bench/common.py); asserts nothing about time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.common import backend_of, emit, memory_mb
from duban.clock import SHANGHAI, SimulatedClock, parse_local
from duban.db import create_all, make_engine
from duban.demo.orgs import load_orgs
from duban.importer import import_file
from duban.models import AuditEvent, Callback, Case, HandlingReport, Subject
from duban.reports import build_report
from duban.reports.xlsx import write_xlsx
from duban.services import Actor, ServiceContext
from duban.services.orgs import install_orgs

UTC = dt.UTC
START = dt.datetime(2021, 1, 1, tzinfo=SHANGHAI)
END = dt.datetime(2023, 12, 31, 18, tzinfo=SHANGHAI)
CHUNK = 20_000
HASH = "0" * 64
CHANNELS = [("phone", 70), ("online", 15), ("letter", 10), ("visit", 5)]
CATEGORIES = ["arrears", "water", "construction", "inaction", "business", "housing", "environment",
              "livelihood", "other"]
PRIORITY = {"arrears": "enterprise", "business": "enterprise", "water": "livelihood",
            "livelihood": "livelihood"}
DISPOSITIONS = [("transfer", 85), ("supervise", 8), ("key_supervise", 1), ("escalate", 2), ("refer", 4)]
STATE_OF = {"transfer": "transferred", "supervise": "supervised", "key_supervise": "key_supervised",
            "escalate": "escalated", "refer": "referred"}


ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    return memory_mb()


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class Generator:
    """Cases and everything the report reads about them, in chunks of plain dicts."""

    def __init__(self, engine: Any, n: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.n = n
        with engine.connect() as conn:
            orgs = conn.execute(text("select id, code, kind, level, parent_id from orgs")).all()
        self.offices = {lvl: [o for o in orgs if o.kind == "office" and o.level == lvl]
                        for lvl in ("province", "city", "county")}
        self.units = [o for o in orgs if o.kind in ("government", "department", "bureau")]
        self.commissions = [o for o in orgs if o.kind == "commission"]
        self.subjects = [o for o in orgs if o.kind == "bureau"]
        self.span = (END - START).total_seconds()
        self.next_event = 1

    def chunks(self) -> Iterator[tuple[list[dict], list[dict], list[dict], list[dict], list[dict]]]:
        for first in range(0, self.n, CHUNK):
            cases, subjects, events, callbacks, reports = [], [], [], [], []
            for i in range(first, min(first + CHUNK, self.n)):
                self._case(i + 1, cases, subjects, events, callbacks, reports)
            yield cases, subjects, events, callbacks, reports

    def _event(self, events: list[dict], case_id: int, seq: int, at: dt.datetime, action: str,
               to_state: str, data: dict | None = None) -> int:
        events.append({"id": self.next_event, "case_id": case_id, "seq": seq, "at": at,
                       "actor": "bench", "actor_role": "dispatcher", "action": action,
                       "from_state": None, "to_state": to_state, "reason": "", "data": data or {},
                       "prev_hash": HASH, "hash": HASH})
        self.next_event += 1
        return seq + 1

    def _case(self, cid: int, cases: list[dict], subjects: list[dict], events: list[dict],
              callbacks: list[dict], reports: list[dict]) -> None:
        rng = self.rng
        received = (START + dt.timedelta(seconds=self.span * (cid - 1) / self.n + rng.random() * 600)
                    ).astimezone(UTC)
        level = weighted(rng, [("province", 52), ("city", 26), ("county", 22)])
        office = rng.choice(self.offices[level])
        category = rng.choice(CATEGORIES)
        disposition: str | None = weighted(rng, DISPOSITIONS)
        age_days = (END.astimezone(UTC) - received).total_seconds() / 86400
        if age_days < 1 and rng.random() < 0.5:
            disposition = None
        unit = (rng.choice(self.commissions) if disposition == "refer" else rng.choice(self.units)
                ) if disposition else None
        subject = rng.choice(self.subjects)
        subjects.append({"id": cid, "name": f"{subject.code}", "kind": "unit", "org_id": subject.id})
        seq = self._event(events, cid, 1, received, "register", "received")
        state, closed_at, deadline_on, dispatched = "received", None, None, None
        returns = 0
        if disposition:
            dispatched = received + dt.timedelta(hours=rng.uniform(1, 48))
            state = STATE_OF[disposition]
            seq = self._event(events, cid, seq, dispatched, disposition, state, {"disposition": disposition})
            closes = rng.random() < min(0.97, age_days / 40)
            t = dispatched
            if rng.random() < 0.05:
                t += dt.timedelta(days=rng.uniform(1, 4))
                seq = self._event(events, cid, seq, t, "request_extension", state, {"days": 15})
                seq = self._event(events, cid, seq, t + dt.timedelta(hours=5), "approve_extension", state)
            if rng.random() < 0.06:
                t += dt.timedelta(days=rng.uniform(5, 12))
                seq = self._event(events, cid, seq, t, "remind", state)
            if disposition == "key_supervise":
                t += dt.timedelta(days=rng.uniform(3, 14))
                reports.append({"case_id": cid, "kind": "progress", "text": "进展", "submitted_by": "b",
                                "submitted_at": t})
                seq = self._event(events, cid, seq, t, "report_progress", state)
            if closes:
                late = rng.random() < 0.1
                t += dt.timedelta(days=rng.uniform(2, 20))
                if disposition == "refer":
                    closed_at = t
                    seq = self._event(events, cid, seq, t, "record_result", "closed", {"late": late})
                else:
                    seq = self._event(events, cid, seq, t, "submit_report", "reported", {"late": late})
                    if rng.random() < 0.1:
                        returns = 1
                        t += dt.timedelta(days=1)
                        seq = self._event(events, cid, seq, t, "send_back", "returned")
                        t += dt.timedelta(days=rng.uniform(1, 5))
                        seq = self._event(events, cid, seq, t, "submit_report", "reported", {"late": False})
                    t += dt.timedelta(days=rng.uniform(0.5, 3))
                    seq = self._event(events, cid, seq, t, "approve", "verified")
                    t += dt.timedelta(days=rng.uniform(0.5, 3))
                    satisfied = rng.random() < 0.93
                    if rng.random() < 0.6:
                        callbacks.append({"case_id": cid, "satisfied": satisfied, "note": "",
                                          "caller": "b", "called_at": t})
                        seq = self._event(events, cid, seq, t, "callback_satisfied" if satisfied
                                          else "callback_unsatisfied", "closed" if satisfied else "returned")
                        if satisfied:
                            closed_at = t
                        else:
                            returns += 1
                    else:
                        seq = self._event(events, cid, seq, t, "close", "closed")
                        closed_at = t
            if closed_at is not None:
                state = "closed"
            else:
                deadline_on = (t + dt.timedelta(days=rng.uniform(3, 25))).astimezone(SHANGHAI).date()
        else:
            deadline_on = (received + dt.timedelta(days=15)).astimezone(SHANGHAI).date()
        cases.append({
            "id": cid, "number": f"{office.code}-B{cid:07d}", "title": f"基准案件{cid}", "summary": "",
            "category": category, "channel": weighted(rng, CHANNELS),
            "priority": PRIORITY.get(category, "normal"), "office_id": office.id, "level": level,
            "state": state, "disposition": disposition, "unit_id": unit.id if unit else None,
            "subject_id": cid, "complainant_id": None, "priority_rank": 2, "matter_key": "",
            "received_at": received, "dispatched_at": dispatched, "closed_at": closed_at,
            "updated_at": closed_at or received, "deadline_kind": None if closed_at else "handling",
            "deadline_start": None, "deadline_days": None, "deadline_unit": None, "extension_days": 0,
            "deadline_on": deadline_on, "deadline_provisional": False, "return_count": returns,
            "repeat_count": 0, "version": seq, "audit_seq": seq - 1, "audit_hash": HASH,
        })


def populate(engine: Any, n: int) -> float:
    gen = Generator(engine, n)
    started = time.perf_counter()
    done = 0
    events_total = 0
    for cases, subjects, events, callbacks, reports in gen.chunks():
        with engine.begin() as conn:
            conn.execute(insert(Subject), subjects)
            conn.execute(insert(Case), cases)
            conn.execute(insert(AuditEvent), events)
            if callbacks:
                conn.execute(insert(Callback), callbacks)
            if reports:
                conn.execute(insert(HandlingReport), reports)
        done += len(cases)
        events_total += len(events)
        if done % 200_000 == 0 or done == n:
            print(f"  {done:>9,} cases, {events_total:>10,} events  "
                  f"{time.perf_counter() - started:6.1f} s")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(label: str, fn: Callable[[], Any], repeat: int = 1, *, times: list[float] | None = None) -> Any:
    times = [] if times is None else times
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    shown = f"{times[0]:.2f} s" if repeat == 1 else (
        f"first {times[0]:.2f} s, then median {statistics.median(times[1:]):.2f} s")
    print(f"  {label:<44} {shown}", flush=True)
    return result


def report_figures(ctx: ServiceContext, period: str, cases: int) -> None:
    times: list[float] = []
    report = timed(f"build_report {period} (province)", lambda: build_report(ctx, period, "GS"), 4,
                   times=times)
    print(f"    received {report.figures['received'].value:,}, closed {report.figures['closed'].value:,}, "
          f"ranked units {len(report.ranking)}, on-time {report.rates['on_time'].value:.1%}")
    context = dict(backend=ctx.engine.dialect.name, cases=cases,
                   note=f"province, {period}: {report.figures['received'].value:,} received, "
                        f"{len(report.ranking)} units ranked")
    emit("report_month", times[0], "s", peak_mb=memory_mb(), **context)
    emit("report_month_warm", statistics.median(times[1:]), "s", peak_mb=memory_mb(), **context)
    timed(f"build_report {period} (city GS-LZ)", lambda: build_report(ctx, period, "GS-LZ"), 3)
    year, month = (int(x) for x in period.split("-"))
    quarter = f"{year}-Q{(month - 1) // 3 + 1}"
    timed(f"build_report {quarter} (province)", lambda: build_report(ctx, quarter, "GS"), 2)
    timed(f"build_report {year} (province)", lambda: build_report(ctx, str(year), "GS"), 2)
    rows = timed(f"ledger of {period} (one row per case)", lambda: sum(1 for _ in report.ledger()))
    print(f"    {rows:,} ledger rows")
    with tempfile.TemporaryDirectory() as tmp:
        timed(f"write_xlsx {period} (sheets + 台账)", lambda: write_xlsx(report, Path(tmp) / "r.xlsx"))


def children_cpu() -> float:
    """CPU seconds of this process's ended children (the import's helper, once it is shut down)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_rate(rows: int, workdir: Path, url: str | None = None) -> None:
    engine = make_engine(url or f"sqlite:///{workdir / 'import.db'}")
    create_all(engine)
    install_orgs(engine, load_orgs())
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2023-12-31 18:00")))
    offices = [o.code for o in load_orgs() if o.kind == "office"]
    rng = random.Random(11)
    path = workdir / "ledger.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["台账编号", "受理单位编码", "受理时间", "渠道", "类别", "优先级", "标题", "反映人",
                         "联系电话", "实名", "被反映单位"])
        base = dt.datetime(2023, 1, 1, 8)
        for i in range(rows):
            writer.writerow([f"B-{i:07d}", rng.choice(offices),
                             (base + dt.timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M"),
                             "监督电话", "拖欠账款", "涉企突出问题", f"某项目拖欠工程款第{i}号",
                             f"反映人{i}", f"199{i:08d}", "是", f"某住建局{i % 500}"])
    started, cpu, helper = time.perf_counter(), time.process_time(), children_cpu()
    result = import_file(ctx, path, actor=Actor("bench", "clerk"))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    helper = children_cpu() - helper  # the helper process that prepares the next batches
    # CPU seconds of this process too: on a shared machine they vary far less than the wall time.
    print(f"  import {rows:,} CSV rows through CaseService: {elapsed:.1f} s, "
          f"{rows / elapsed:,.0f} rows/s (created {result.created:,}, rejected {result.rejected}); "
          f"CPU {cpu:.1f} s, {rows / cpu:,.0f} rows per CPU second of the writer, helper "
          f"{helper:.1f} s; load {os.getloadavg()[0]:.1f}", flush=True)
    emit("import", elapsed, "s", peak_mb=memory_mb(), backend=engine.dialect.name, rows=rows,
         note=f"{rows / elapsed:,.0f} rows/s ({rows / cpu:,.0f} per writer CPU s, helper "
              f"{helper:.1f} s); created {result.created:,}, rejected {result.rejected}")
    emit("import_rate", rows / elapsed, "rows/s", backend=engine.dialect.name, rows=rows)
    started = time.perf_counter()
    again = import_file(ctx, path, actor=Actor("bench", "clerk"))
    elapsed = time.perf_counter() - started
    print(f"  re-import (all already there): {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s, "
          f"created {again.created}, skipped {again.skipped:,}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--period", default="2023-06")
    parser.add_argument("--database", help="SQLAlchemy URL for the cases (reused if it holds some)")
    parser.add_argument("--part", choices=("all", "report", "import"), default="all")
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="duban-report-bench-"))
    try:
        if args.part in ("all", "report"):
            report_part(args, args.database or f"sqlite:///{tmp / 'cases.db'}")
        if args.part in ("all", "import") and args.import_rows:
            print("import")
            import_rate(args.import_rows, tmp, args.database)
            print(f"peak memory {peak_mb():,.0f} MB")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            for file in tmp.iterdir():
                file.unlink()
            tmp.rmdir()


def report_part(args: argparse.Namespace, url: str) -> None:
    """Generate the cases if the database has none, then measure the report in a fresh process."""
    engine = make_engine(url)
    create_all(engine)
    with engine.connect() as conn:
        have = conn.execute(text("select count(*) from cases")).scalar() or 0
    if have == 0:
        install_orgs(engine, load_orgs())
        print(f"generating {args.cases:,} cases into {engine.url.render_as_string()}")
        seconds = timed("bulk insert (Core)", lambda: populate(engine, args.cases))
        emit("report_generate", seconds, "s", peak_mb=peak_mb(), backend=backend_of(url),
             cases=args.cases, note="cases, audit events, callbacks by Core insert")
        engine.dispose()
        # A fresh process for the report: its memory is the report's, not the generator's.
        subprocess.run([sys.executable, "-m", "bench.report_bench", "--part", "report",
                        "--database", url, "--cases", str(args.cases), "--period", args.period],
                       cwd=ROOT, check=True)
        return
    print(f"reusing {have:,} cases in {engine.url.render_as_string()}")
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        print(f"database file {path.stat().st_size / 2**20:,.0f} MB")
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2024-01-05 09:00")))
    print("report")
    report_figures(ctx, args.period, have)
    print(f"peak memory {peak_mb():,.0f} MB")
    engine.dispose()


if __name__ == "__main__":
    main()
