"""The keyed audit chain's cost: verify over many cases, and an action with and without it.

    python -m bench.audit_bench [--cases 100000] [--actions 1400] [--database URL]
                                [--part all|verify|cost]

verify: loads `--cases` closed cases (register, transfer, report, approve, close: 5 events, a
handling report and a review each, every event sealed as append_event seals it) by Core insert,
then times `duban audit verify`'s service (duban.services.integrity.verify) in a fresh process
(from 50,000 cases on, it checks id ranges in one process per core).

cost: the same action cycle through the service layer, alternately with the keyed chain and
with the chain as it was before it (plain SHA-256 over the event's fields: no MAC, no facts, no
row digests, no REPLACE trigger), on fresh databases; medians of five rounds each, in alternating
order.

Run from the repository root. Prints figures and BENCH lines; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import backend_of, emit, memory_mb
from duban.clock import SimulatedClock, parse_local
from duban.config.settings import Settings
from duban.db import create_all, make_engine
from duban.models import AuditEvent, Case, HandlingReport, Org, Review
from duban.services import Actor, CaseService, ServiceContext
from duban.services import audit as audit_module
from duban.services.audit import facts_of, legacy_hash, seal
from duban.services.auditkeys import KeyRing, load_keyring
from duban.services.auditrows import covered_tables, row_digest
from duban.services.orgs import install_orgs
from tests.factories import ORGS, complaint

# A final report states 是否属实 and what was done (policy [handling_report]).
REPORTED = {"finding": "true", "actions_taken": "已核实并处理"}

ROOT = Path(__file__).resolve().parents[1]
DISPATCHER = Actor("bench", "dispatcher")
SUPERVISOR = Actor("bench", "supervisor")
CHUNK = 5000


def _keys(folder: Path) -> KeyRing:
    return load_keyring(Settings(audit_key_file=folder / "audit-keys.json"))


def _case_events(keys: KeyRing, i: int, case: dict[str, Any], office: str, unit_id: int,
                 at: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The five sealed events of one case, its report and its review (ids given by position)."""
    covered = covered_tables()
    cid = case["id"]
    report = {"id": cid, "case_id": cid, "unit_id": unit_id, "kind": "final", "text": "办理报告",
              "text_redacted": "", "submitted_by": "unit", "submitted_at": at}
    review = {"id": cid, "case_id": cid, "report_id": cid, "decision": "approved", "reasons": "",
              "reasons_redacted": "", "reviewer": "bench", "reviewed_at": at}
    steps = [
        ("register", None, "received", {}, [["cases", cid, row_digest(covered["cases"], case, keys.alg)]]),
        ("transfer", "received", "transferred", {"unit": "GS-LZ-CG-GOV", "disposition": "transfer"}, []),
        ("submit_report", "transferred", "reported", {"report_kind": "final"},
         [["handling_reports", cid, row_digest(covered["handling_reports"], report, keys.alg)]]),
        ("approve", "reported", "verified", {},
         [["reviews", cid, row_digest(covered["reviews"], review, keys.alg)]]),
        ("close", "verified", "closed", {}, []),
    ]
    facts = dict(case)
    events = []
    prev = ""
    for seq, (action, before, after, data, refs) in enumerate(steps, start=1):
        facts["state"] = after
        if action == "transfer":
            facts.update(disposition="transfer", unit_id=unit_id, dispatched_at=at)
        if action == "close":
            facts.update(closed_at=at, deadline_kind=None, deadline_on=None)
        rows = json.dumps(refs, ensure_ascii=False, separators=(",", ":")) if refs else ""
        fact_text = facts_of(facts)
        alg, kid, mac = seal(keys, prev_hash=prev, case_id=cid, seq=seq, at=at, actor="bench",
                             actor_role="dispatcher", action=action, from_state=before, to_state=after,
                             reason="", data=data, facts=fact_text, rows=rows)
        events.append({"case_id": cid, "seq": seq, "at": at, "actor": "bench", "actor_role": "dispatcher",
                       "action": action, "from_state": before, "to_state": after, "reason": "",
                       "reason_redacted": "", "data": data, "prev_hash": prev, "hash": mac, "alg": alg,
                       "key_id": kid, "facts": fact_text, "rows": rows})
        prev = mac
    case.update({k: facts[k] for k in ("state", "disposition", "unit_id", "dispatched_at", "closed_at",
                                       "deadline_kind", "deadline_on")},
                audit_seq=len(events), audit_hash=prev)
    return events, [report], [review]


def load(url: str, n_cases: int, keys: KeyRing) -> None:
    engine = make_engine(url)
    create_all(engine)
    install_orgs(engine, ORGS)
    with engine.connect() as conn:
        office_id = conn.execute(select(Org.id).where(Org.code == "GS")).scalar_one()
        unit_id = conn.execute(select(Org.id).where(Org.code == "GS-LZ-CG-GOV")).scalar_one()
    at = parse_local("2026-11-02 10:00")
    t = time.perf_counter()
    for lo in range(0, n_cases, CHUNK):
        cases, events, reports, reviews = [], [], [], []
        for i in range(lo, min(n_cases, lo + CHUNK)):
            case = dict(id=i + 1, number=f"B-{i:07d}", title="基准", summary="", category="other",
                        channel="phone", priority="normal", office_id=office_id, level="province",
                        state="received", disposition=None, unit_id=None, subject_id=None,
                        complainant_id=None, priority_rank=2, matter_key=f"k{i}", received_at=at,
                        updated_at=at, deadline_kind="triage", deadline_on=dt.date(2026, 11, 5),
                        deadline_provisional=False, extension_days=0, return_count=0, repeat_count=0,
                        dispatched_at=None, closed_at=None, version=6)
            evs, rep, rev = _case_events(keys, i, case, "GS", unit_id, at)
            cases.append(case)
            events += evs
            reports += rep
            reviews += rev
        with engine.begin() as conn:
            conn.execute(insert(Case), cases)
            conn.execute(insert(HandlingReport), reports)
            conn.execute(insert(Review), reviews)
            conn.execute(insert(AuditEvent), events)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    print(f"loaded {n_cases:,} closed cases, {5 * n_cases:,} sealed events in "
          f"{time.perf_counter() - t:.1f} s",
          flush=True)
    engine.dispose()


def verify_once(url: str, key_folder: Path) -> dict[str, Any]:
    """In this (fresh) process: verify every case; the time and what it found."""
    from duban.services.integrity import verify

    engine = make_engine(url)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2026-12-01 10:00")),
                         audit_keys=_keys(key_folder))
    t, c = time.perf_counter(), time.process_time()
    report = verify(ctx)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - c
    engine.dispose()
    return {"seconds": elapsed, "cpu_seconds": cpu, "cases": report.cases, "events": report.events,
            "findings": len(report.findings), "processes": report.processes, "peak_mb": memory_mb()}


def bench_verify(url: str, n_cases: int, tmp: Path) -> None:
    load(url, n_cases, _keys(tmp))
    done = subprocess.run([sys.executable, "-m", "bench.audit_bench", "--verify-only", url,
                           "--keys", str(tmp)], cwd=ROOT, check=True, capture_output=True, text=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    per_case = r["seconds"] / max(1, r["cases"])
    # The first process's CPU time: its share of the cases, so per case about the cost on one core.
    cpu_per_case = r["cpu_seconds"] * r["processes"] / max(1, r["cases"])
    print(f"verify over {r['cases']:,} cases, {r['events']:,} events in {r['processes']} process(es): "
          f"{r['seconds']:.2f} s ({per_case * 1e6:.0f} µs a case, {cpu_per_case * 1e6:.0f} µs of CPU a "
          f"case on one core; {r['findings']} findings); at 1M cases ≈ {per_case * 1_000_000:.0f} s; "
          f"peak RSS {r['peak_mb']:.0f} MB (the first process)")
    emit("audit_verify", r["seconds"], "s", peak_mb=r["peak_mb"], backend=backend_of(url), cases=r["cases"],
         note=f"{r['events']:,} events: MACs, row digests, facts; {r['processes']} process(es), "
              f"{cpu_per_case * 1e6:.0f} µs CPU a case; ≈{per_case * 1_000_000:.0f} s at 1M")


# -- the chain as it was before the keyed one (main at 2bae906) ---------------------------------

_INSERT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def _legacy_append_event(session: Any, case: Case, *, at: dt.datetime, actor: str, actor_role: str,
                         action: str, from_state: str | None, reason: str = "",
                         reason_redacted: str | None = None, data: dict[str, Any] | None = None) -> None:
    data = data or {}
    seq = case.audit_seq + 1
    assert case.id is not None
    digest = legacy_hash(prev_hash=case.audit_hash, case_id=case.id, seq=seq, at=at, actor=actor,
                         actor_role=actor_role, action=action, from_state=from_state,
                         to_state=case.state, reason=reason, data=data)
    session.connection().execute(_INSERT, [{
        "case_id": case.id, "seq": seq, "at": at, "actor": actor, "actor_role": actor_role,
        "action": action, "from_state": from_state, "to_state": case.state, "reason": reason,
        "reason_redacted": reason_redacted or "", "data": data, "prev_hash": case.audit_hash,
        "hash": digest}])
    case.audit_seq = seq
    case.audit_hash = digest


def _cycle(ctx: ServiceContext, n_actions: int) -> float:
    """Actions per second of register + 6 transitions per case."""
    service = CaseService(ctx)
    with ctx.engine.connect() as conn:
        unit_id = conn.execute(select(Org.id).where(Org.code == "GS-LZ-CG-GOV")).scalar_one()
    unit = Actor("bench-unit", "unit", unit_id)
    cycle = [("transfer", DISPATCHER, {"unit": "GS-LZ-CG-GOV"}),
             ("submit_report", unit, {**REPORTED, "text": "办理报告"}),
             ("send_back", SUPERVISOR, {"reasons": "事实不清"}),
             ("submit_report", unit, {**REPORTED, "text": "再报"}),
             ("approve", SUPERVISOR, {}), ("close", SUPERVISOR, {"reason": "declined"})]
    n_cases = max(1, n_actions // (len(cycle) + 1))
    start = time.perf_counter()
    for i in range(n_cases):
        number = service.register(complaint(title=f"基准事项{i}"), actor=DISPATCHER).case.number
        for action, actor, form in cycle:
            service.act(number, action, actor=actor, form=form)
    return n_cases * (len(cycle) + 1) / (time.perf_counter() - start)


def bench_cost(url: str | None, n_actions: int, tmp: Path) -> None:
    import duban.services.cases as cases_module
    import duban.services.persist as persist_module

    keyed_append, keyed_cover = cases_module.append_event, persist_module.cover
    rates: dict[str, list[float]] = {"before": [], "keyed": []}
    for round_ in range(5):  # the order alternates: a machine getting busier favours neither
        for mode in (("before", "keyed") if round_ % 2 == 0 else ("keyed", "before")):
            db_url = url or f"sqlite:///{tmp}/cost-{round_}-{mode}.db"
            engine = make_engine(db_url)
            if url:  # one PostgreSQL database: emptied for each run
                with engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            create_all(engine)
            install_orgs(engine, ORGS)
            if mode == "before":
                cases_module.append_event = _legacy_append_event  # type: ignore[assignment]
                persist_module.cover = lambda *a, **k: None  # type: ignore[assignment]
                if engine.dialect.name == "sqlite":
                    with engine.begin() as conn:
                        conn.execute(text("DROP TRIGGER audit_events_no_replace"))
            try:
                ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2026-11-02 10:00")),
                                     audit_keys=_keys(tmp))
                rates[mode].append(_cycle(ctx, n_actions))
            finally:
                cases_module.append_event = keyed_append  # type: ignore[assignment]
                persist_module.cover = keyed_cover  # type: ignore[assignment]
                engine.dispose()
    before, keyed = statistics.median(rates["before"]), statistics.median(rates["keyed"])
    slower = (before / keyed - 1) * 100
    print(f"an action: {1000 / before:.3f} ms before, {1000 / keyed:.3f} ms with the keyed chain "
          f"({slower:+.1f} %); rounds before {[round(r) for r in rates['before']]}, "
          f"keyed {[round(r) for r in rates['keyed']]} actions/s")
    backend = backend_of(url) if url else "sqlite"
    emit("audit_action_before", before, "actions/s", peak_mb=memory_mb(), backend=backend,
         note="plain SHA-256 chain (main at 2bae906)")
    emit("audit_action_keyed", keyed, "actions/s", peak_mb=memory_mb(), backend=backend,
         note="HMAC-SM3, facts and row digests")
    emit("audit_action_slower", slower, "%", backend=backend,
         note="median of 5 rounds each, order alternating")
    added = _seal_added_us(_keys(tmp))
    print(f"in process, per event: the keyed seal (facts, a row digest, HMAC-SM3) adds {added:.1f} µs "
          f"to the plain hash: {added / (1e6 / before) * 100:.1f} % of an action measured above")
    emit("audit_seal_added", added, "µs", backend=backend,
         note=f"{added / (1e6 / before) * 100:.1f} % of an action; interleaved, medians of 5")


def _seal_added_us(keys: KeyRing) -> float:
    """What the keyed seal adds per event over the plain hash, both timed interleaved in this process."""
    import timeit

    at = dt.datetime.now(dt.UTC)
    facts = {"state": "reported", "disposition": "transfer", "unit_id": 12, "deadline_kind": "review",
             "deadline_on": dt.date(2026, 12, 1), "deadline_provisional": False, "extension_days": 0,
             "return_count": 1, "repeat_count": 0, "dispatched_at": at, "closed_at": None}
    data = {"report_kind": "final", "due_on": "2026-11-20", "late": False}
    covered = covered_tables()["handling_reports"]
    report = {"case_id": 1, "unit_id": 12, "kind": "final", "text": "办理报告" * 20, "submitted_by": "x",
              "submitted_at": at}
    common = dict(prev_hash="a" * 64, case_id=1, seq=3, at=at, actor="某单位", actor_role="unit",
                  action="submit_report", from_state="transferred", to_state="reported", reason="")

    def keyed() -> None:
        rows = json.dumps([["handling_reports", 1, row_digest(covered, report, keys.alg)]],
                          separators=(",", ":"))
        seal(keys, data=data, facts=facts_of(facts), rows=rows, **common)  # type: ignore[arg-type]

    def plain() -> None:
        legacy_hash(data=data, **common)  # type: ignore[arg-type]

    added = []
    for _ in range(5):
        k = timeit.timeit(keyed, number=5000) / 5000
        p = timeit.timeit(plain, number=5000) / 5000
        added.append((k - p) * 1e6)
    return statistics.median(added)
    assert audit_module  # the module whose append_event the keyed runs use


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=1_400)
    parser.add_argument("--database", default=None, help="an empty database (default: temporary SQLite)")
    parser.add_argument("--part", choices=("all", "verify", "cost"), default="all")
    parser.add_argument("--verify-only", default=None, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--keys", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.verify_only:
        print(json.dumps(verify_once(args.verify_only, args.keys)))
        return
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.part in ("all", "cost"):
            bench_cost(args.database, args.actions, tmp)
        if args.part in ("all", "verify"):
            url = args.database or f"sqlite:///{tmp}/verify.db"
            if args.database:
                engine = make_engine(url)
                with engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
                engine.dispose()
            bench_verify(url, args.cases, tmp)


if __name__ == "__main__":
    main()
