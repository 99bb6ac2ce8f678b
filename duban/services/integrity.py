"""`duban audit verify`: every case's chain, rows and facts, and the database against its checkpoints.

Reads the database in chunks of case ids (cases, their events and their covered rows by id
range, so an event or row whose case row is gone is still seen) and checks each case
(duban.services.chaincheck). With a checkpoint file, the database is also compared with its last
checkpoint: no case vanished, no head went backwards, no event up to the checkpoint changed.
Unless one case is asked for, the account record is checked too (services/accountaudit.py).

Fast enough for a million cases: rows come from the driver's cursor (no ORM, no SQLAlchemy row
processing), times and `data` are turned into the canonical text the MACs cover once per value
(duban.services.verifyread), and a large database is checked in id ranges by one process per
core, each with its own connection.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from duban.models import AuditEvent, Case
from duban.services.accountaudit import check as check_accounts
from duban.services.auditkeys import KeyRing
from duban.services.auditsaid import said
from duban.services.chaincheck import HASH, SEQ, Finding, Macs, check_case
from duban.services.checkpoints import Place, check_log, checkpoint_heads, database_name
from duban.services.context import ServiceContext
from duban.services.verifyread import Reader

CHUNK = 2000
PARALLEL_FROM = 50_000  # cases: below this, starting a second process costs more than it saves
Broken = Finding  # the name earlier callers know
BEHIND = "missing_since_checkpoint"  # a case the last checkpoint saw is not there
OLDER = frozenset({BEHIND, "head_backwards"})  # the kinds a database older than its checkpoint shows

_CASES = Case.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    checkpoint: int | None = None  # the checkpoint the database was compared with
    account_events: int = 0  # of the account record (services/accountaudit.py)
    processes: int = 1  # how many checked it side by side

    @property
    def intact(self) -> bool:
        return not self.findings


class _Enough(Exception):
    pass


def _case_ids(conn: Connection, *, number: str | None, since: dt.datetime | None) -> list[int] | None:
    if number is not None:
        return list(conn.execute(select(_CASES.c.id).where(_CASES.c.number == number)).scalars())
    if since is not None:
        return sorted(set(conn.execute(select(_EVENTS.c.case_id).where(_EVENTS.c.at >= since)
                                       .distinct()).scalars()))
    return None


def verify(ctx: ServiceContext, *, case: str | None = None, since: dt.datetime | None = None,
           place: Place | None = None, limit: int | None = None, accept_unkeyed: bool = False,
           workers: int | None = None, other_database: bool = False,
           as_database: str | None = None) -> Report:
    """Check the trail of every case (or one case, or those with events since a time).

    `place` names the checkpoint file to compare with (None: none); `limit` stops after that
    many findings. `workers`: processes checking id ranges side by side (None: one per core
    when every case of a file or server database is checked and there are PARALLEL_FROM or
    more; 1: this process only). The findings come in case id order either way.

    A checkpoint file holding checkpoints of other databases only is a finding (a copy, a
    database moved, or one swapped in, would otherwise pass unchecked), unless `other_database`:
    the operator says this is indeed another database. `as_database` compares with the
    checkpoints of the database of that name (a backup checked before it replaces it).
    """
    report = Report()
    name = as_database or database_name(ctx.engine)
    log = check_log(place, name) if place is not None else None
    if log is not None:
        checkpoints = said("where.checkpoints")
        report.findings += [Finding(checkpoints, problem, "checkpoint") for problem in log.problems]
        if log.none_of_this_database and not other_database:
            file = place.log if place is not None else ""
            report.findings.append(Finding(checkpoints, said("checkpoints.none_of_this_database", file=file,
                                                             others=log.others, name=name), "no_checkpoint"))
        for n, alarm in log.alarms:  # found when checkpoint n was written, signed since
            number, _, what = alarm.partition(": ")
            report.findings.append(Finding(number, said("checkpoints.found_by", what=what, n=n),
                                           "checkpoint_alarm"))
        if log.last is not None:
            report.checkpoint = int(log.last["n"])
    line = log.last if log else None
    try:
        with ctx.engine.connect() as conn:
            selected = _case_ids(conn, number=case, since=since)
            if case is not None and not selected:
                for _, number, seq, _ in _Heads(place, line).all():
                    if number == case:
                        _add(report, Finding(number, said("checkpoints.case_missing", n=report.checkpoint,
                                                          events=seq), BEHIND), limit)
                return report
            if selected is not None:
                _Shard(ctx.audit_keys, place, line, limit, accept_unkeyed).run_ids(conn, report, selected)
            else:
                bounds = _shard_bounds(conn, ctx.engine, workers)
                if len(bounds) == 1:
                    shard = _Shard(ctx.audit_keys, place, line, limit, accept_unkeyed)
                    shard.run_range(conn, report, 0, None)
                else:
                    _parallel(ctx, report, bounds, place, line, limit, accept_unkeyed)
            if case is None:
                report.account_events, found = check_accounts(conn, ctx.audit_keys, checkpoint=line)
                for finding in found:
                    _add(report, finding, limit)
            if since is not None and report.checkpoint is not None:
                # A quick check still names every case gone since the checkpoint (ids only).
                existing = set(conn.execute(select(_CASES.c.id)).scalars())
                for case_id, number, seq, _ in _Heads(place, line).all():
                    if case_id not in existing:
                        _add(report, Finding(number, said("checkpoints.case_missing", n=report.checkpoint,
                                                          events=seq), BEHIND), limit)
    except _Enough:
        pass
    return report


def _add(report: Report, finding: Finding, limit: int | None) -> None:
    report.findings.append(finding)
    if limit is not None and len(report.findings) >= limit:
        raise _Enough


# -- one process per core ------------------------------------------------------------------------

def _shard_bounds(conn: Connection, engine: Engine, workers: int | None) -> list[tuple[int, int | None]]:
    """Case id ranges (lo, hi], the last one open, holding about as many cases each."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        count = select(func.count()).select_from(_CASES)
        if workers > 1 and conn.execute(count).scalar_one() < PARALLEL_FROM:
            workers = 1
    if workers > 1 and engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        workers = 1  # another process cannot open this database
    if workers <= 1:
        return [(0, None)]
    total = conn.execute(select(func.count()).select_from(_CASES)).scalar_one()
    cuts = [0]
    for k in range(1, workers):
        offset = total * k // workers - 1
        if offset >= 0:
            cut = conn.execute(select(_CASES.c.id).order_by(_CASES.c.id).offset(offset).limit(1)).scalar()
            if cut is not None and cut > cuts[-1]:
                cuts.append(int(cut))
    return [(lo, hi) for lo, hi in zip(cuts, [*cuts[1:], None], strict=True)]


def _parallel(ctx: ServiceContext, report: Report, bounds: list[tuple[int, int | None]],
              place: Place | None, line: dict[str, Any] | None, limit: int | None,
              accept_unkeyed: bool) -> None:
    """The first range here, each other one in a process of its own (duban.services.verifyworker).

    A new interpreter, not a fork (safe under a threaded host) nor multiprocessing's spawn (which
    re-runs the caller's main module): the job, keys and database URL included, goes by its
    stdin, never its arguments or environment, and its report comes back by its stdout.
    """
    url = ctx.engine.url.render_as_string(hide_password=False)
    children = []
    for lo, hi in bounds[1:]:
        child = subprocess.Popen([sys.executable, "-m", "duban.services.verifyworker"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert child.stdin is not None
        child.stdin.write(pickle.dumps((url, ctx.audit_keys, lo, hi, place, line, limit, accept_unkeyed)))
        child.stdin.close()
        children.append(child)
    report.processes = len(bounds)
    parts = [Report()]
    try:
        with ctx.engine.connect() as conn:
            try:
                shard = _Shard(ctx.audit_keys, place, line, limit, accept_unkeyed)
                shard.run_range(conn, parts[0], *bounds[0])
            except _Enough:
                pass
    finally:
        for child in children:
            assert child.stdout is not None
            out = child.stdout.read()
            if child.wait() != 0:
                raise RuntimeError(f"audit verify: the process checking a range of cases failed "
                                   f"(exit status {child.returncode})")
            parts.append(pickle.loads(out))  # from the process started above
    for part in parts:
        report.cases += part.cases
        report.events += part.events
        for finding in part.findings:
            _add(report, finding, limit)


def range_report(url: str, keys: KeyRing, lo: int, hi: int | None, place: Place | None,
                 line: dict[str, Any] | None, limit: int | None, accept_unkeyed: bool) -> Report:
    """One range of case ids checked on a connection of its own (in another process)."""
    from duban.db import make_engine

    engine = make_engine(url)
    report = Report()
    try:
        with engine.connect() as conn:
            _Shard(keys, place, line, limit, accept_unkeyed).run_range(conn, report, lo, hi)
    except _Enough:
        pass
    finally:
        engine.dispose()
    return report


# -- one process's share -------------------------------------------------------------------------

class _Shard:
    """Checks chunks of cases, in case id order, on one connection."""

    macs: Macs

    def __init__(self, keys: KeyRing, place: Place | None, line: dict[str, Any] | None,
                 limit: int | None, accept_unkeyed: bool) -> None:
        self.keys = keys
        self.heads = _Heads(place, line)
        self.limit = limit
        self.accept_unkeyed = accept_unkeyed

    def run_range(self, conn: Connection, report: Report, lo: int, hi: int | None) -> None:
        """Every case with an id in (lo, hi] (hi None: no upper bound), and every event or row
        tied to an id there."""
        reader = Reader(conn)
        self.macs = reader.macs(self.keys)
        for _ in self.heads.upto(lo):
            pass  # another process's
        while True:
            where = _CASES.c.id > lo if hi is None else (_CASES.c.id > lo) & (_CASES.c.id <= hi)
            ids = list(conn.execute(select(_CASES.c.id).where(where).order_by(_CASES.c.id)
                                    .limit(CHUNK)).scalars())
            if len(ids) < CHUNK:
                self._chunk(reader, report, lo, hi, None)
                return
            self._chunk(reader, report, lo, ids[-1], None)
            lo = ids[-1]

    def run_ids(self, conn: Connection, report: Report, selected: list[int]) -> None:
        reader = Reader(conn)
        self.macs = reader.macs(self.keys)
        for i in range(0, len(selected), CHUNK):
            part = selected[i:i + CHUNK]
            self._chunk(reader, report, part[0] - 1, part[-1], part)

    def _chunk(self, reader: Reader, report: Report, lo: int, hi: int | None, ids: list[int] | None) -> None:
        limit = self.limit
        cases = reader.cases(lo, hi, ids)
        events = reader.events(lo, hi, ids)
        rows, own = reader.rows(lo, hi, ids, events)
        for cid, row in cases.items():
            rows["cases", str(cid)] = row
        for cid in sorted(events.keys() - cases.keys()):
            gone = said("case.no_case_row", events=len(events[cid]))
            _add(report, Finding(said("where.case_id", id=cid), gone, "case_missing"), limit)
        no_events: list[Sequence[Any]] = []
        no_rows: set[tuple[str, str]] = set()
        for cid in sorted(cases):
            evs = events.get(cid, no_events)
            report.cases += 1
            report.events += len(evs)
            for finding in check_case(self.macs, cases[cid], evs, rows, own.get(cid, no_rows),
                                      accept_unkeyed=self.accept_unkeyed):
                _add(report, finding, limit)
        n = self.heads.n
        for cid, number, seq, head in self.heads.upto(hi):
            if ids is not None and cid not in ids:
                continue
            if cid not in cases:
                _add(report, Finding(number, said("checkpoints.case_missing", n=n, events=seq), BEHIND),
                     limit)
                continue
            at = {ev[SEQ]: ev for ev in events.get(cid, no_events)}
            if seq and seq not in at:
                last = max(at, default=0)
                _add(report, Finding(number, said("checkpoints.went_backwards", n=n, seen=seq, last=last),
                                     "head_backwards", seq), limit)
            elif seq and at[seq][HASH] != head:
                _add(report, Finding(number, said("checkpoints.changed", seq=seq, n=n),
                                     "changed_since_checkpoint", seq), limit)


class _Heads:
    """The last checkpoint's heads, read along with the chunks (both go by case id)."""

    def __init__(self, place: Place | None, line: dict[str, Any] | None) -> None:
        self.n = int(line["n"]) if line else None
        self._place, self._line = place, line
        self._iter = checkpoint_heads(place, line) if place and line else iter(())
        self._next: tuple[int, str, int, str] | None = next(self._iter, None)

    def all(self) -> Iterator[tuple[int, str, int, str]]:
        if self._place and self._line:
            yield from checkpoint_heads(self._place, self._line)

    def upto(self, hi: int | None) -> Iterator[tuple[int, str, int, str]]:
        while self._next is not None and (hi is None or self._next[0] <= hi):
            yield self._next
            self._next = next(self._iter, None)


def verify_audit(ctx: ServiceContext, *, stop_at_first: bool = True) -> tuple[int, int, list[Finding]]:
    """(cases checked, events checked, findings), without checkpoints (see `verify`)."""
    report = verify(ctx, limit=1 if stop_at_first else None)
    return report.cases, report.events, report.findings
