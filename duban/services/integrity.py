"""`duban audit verify`: every case's chain, rows and facts, and the database against its checkpoints.

Reads the database in chunks of case ids (cases, their events and their covered rows by id
range, so an event or row whose case row is gone is still seen) and checks each case
(duban.services.chaincheck). With a checkpoint file, the database is also compared with its last
checkpoint: no case vanished, no head went backwards, no event up to the checkpoint changed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from duban.models import AuditEvent, Case
from duban.services.audit import FACT_FIELDS
from duban.services.auditrows import covered_tables, row_key
from duban.services.chaincheck import Finding, RowKey, check_case
from duban.services.checkpoints import Place, check_log, checkpoint_heads, database_name
from duban.services.context import ServiceContext

CHUNK = 2000
Broken = Finding  # the name earlier callers know

_CASES = Case.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_CASE_COLUMNS = ["id", *sorted({"number", "audit_seq", "audit_hash", *FACT_FIELDS,
                                *covered_tables()["cases"].columns})]
_EVENT_COLUMNS = [c for c in _EVENTS.columns if not c.name.endswith("_redacted")]


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    checkpoint: int | None = None  # the checkpoint the database was compared with

    @property
    def intact(self) -> bool:
        return not self.findings


class _Enough(Exception):
    pass


def _events_by_case(conn: Connection, where: Any) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    query = select(*_EVENT_COLUMNS).where(where).order_by(_EVENTS.c.case_id, _EVENTS.c.seq, _EVENTS.c.id)
    names = [c.name for c in _EVENT_COLUMNS]
    for row in conn.execute(query):  # plain rows zipped with names: mappings cost twice as much
        ev = dict(zip(names, row, strict=True))
        found.setdefault(ev["case_id"], []).append(ev)
    return found


def _rows(conn: Connection, lo: int, hi: int | None, ids: list[int] | None,
          events: dict[int, list[dict[str, Any]]]) -> tuple[dict[RowKey, dict[str, Any]],
                                                           dict[int, set[RowKey]]]:
    """The covered rows of the chunk's cases, and those its events name; and which are whose."""
    rows: dict[RowKey, dict[str, Any]] = {}
    own: dict[int, set[RowKey]] = {}
    wanted: dict[str, set[int]] = {}
    for evs in events.values():
        for ev in evs:
            if ev["rows"]:
                for table, key, _ in json.loads(ev["rows"]):
                    if isinstance(key, int):
                        wanted.setdefault(table, set()).add(key)
    for name, covered in covered_tables().items():
        table = covered.table
        if name == "cases":
            continue
        if covered.case_column:
            column = table.c[covered.case_column]
            where = column.in_(ids) if ids is not None else (
                (column > lo) & (column <= hi) if hi is not None else column > lo)
            names = [c.name for c in table.columns]
            for values in conn.execute(select(table).where(where)):
                row = dict(zip(names, values, strict=True))
                key = row_key(name, covered.key_of(row, row.get("id")), row[covered.case_column])
                rows[key] = row
                own.setdefault(row[covered.case_column], set()).add(key)
        else:
            missing = sorted(wanted.get(name, set()))
            for i in range(0, len(missing), 500):
                found = conn.execute(select(table).where(table.c.id.in_(missing[i:i + 500]))).mappings()
                for mapping in found:
                    rows[name, str(mapping["id"])] = dict(mapping)
    return rows, own


def _case_ids(conn: Connection, *, number: str | None, since: dt.datetime | None) -> list[int] | None:
    if number is not None:
        return list(conn.execute(select(_CASES.c.id).where(_CASES.c.number == number)).scalars())
    if since is not None:
        return sorted(set(conn.execute(select(_EVENTS.c.case_id).where(_EVENTS.c.at >= since)
                                       .distinct()).scalars()))
    return None


def verify(ctx: ServiceContext, *, case: str | None = None, since: dt.datetime | None = None,
           place: Place | None = None, limit: int | None = None, accept_unkeyed: bool = False) -> Report:
    """Check the trail of every case (or one case, or those with events since a time).

    `place` names the checkpoint file to compare with (None: none); `limit` stops after that
    many findings.
    """
    report = Report()
    log = check_log(place, database_name(ctx.engine)) if place is not None else None
    if log is not None:
        report.findings += [Finding("(checkpoints)", problem, "checkpoint") for problem in log.problems]
        for n, alarm in log.alarms:  # found when checkpoint n was written, signed since
            number, _, what = alarm.partition(": ")
            report.findings.append(Finding(number, f"{what} (found by checkpoint {n})", "checkpoint_alarm"))
        if log.last is not None:
            report.checkpoint = int(log.last["n"])
    cp_heads = _Heads(place, log.last if log else None)
    try:
        with ctx.engine.connect() as conn:
            selected = _case_ids(conn, number=case, since=since)
            if case is not None and not selected:
                for _, number, seq, _ in cp_heads.all():
                    if number == case:
                        _add(report, Finding(number, f"case missing since checkpoint {report.checkpoint} "
                                                     f"(it had {seq} events then)", "case_missing"), limit)
                return report
            for lo, hi, ids in _chunks(conn, selected):
                _check_chunk(ctx, conn, report, lo, hi, ids, cp_heads, limit, accept_unkeyed)
            if since is not None and report.checkpoint is not None:
                # A quick check still names every case gone since the checkpoint (ids only).
                existing = set(conn.execute(select(_CASES.c.id)).scalars())
                for case_id, number, seq, _ in cp_heads.all():
                    if case_id not in existing:
                        _add(report, Finding(number, f"case missing since checkpoint {report.checkpoint} "
                                                     f"(it had {seq} events then)", "case_missing"), limit)
    except _Enough:
        pass
    return report


def _chunks(conn: Connection,
            selected: list[int] | None) -> Iterator[tuple[int, int | None, list[int] | None]]:
    """(lo, hi, ids): case ids in (lo, hi] (hi None: no upper bound), or the selected ids."""
    if selected is not None:
        for i in range(0, len(selected), CHUNK):
            part = selected[i:i + CHUNK]
            yield part[0] - 1, part[-1], part
        return
    lo = 0
    while True:
        ids = list(conn.execute(select(_CASES.c.id).where(_CASES.c.id > lo).order_by(_CASES.c.id)
                                .limit(CHUNK)).scalars())
        if len(ids) < CHUNK:
            yield lo, None, None
            return
        yield lo, ids[-1], None
        lo = ids[-1]


def _add(report: Report, finding: Finding, limit: int | None) -> None:
    report.findings.append(finding)
    if limit is not None and len(report.findings) >= limit:
        raise _Enough


def _check_chunk(ctx: ServiceContext, conn: Connection, report: Report, lo: int, hi: int | None,
                 ids: list[int] | None, cp_heads: _Heads, limit: int | None, accept_unkeyed: bool) -> None:
    in_range = (lambda c: (c > lo) & (c <= hi)) if hi is not None else (lambda c: c > lo)
    case_where = _CASES.c.id.in_(ids) if ids is not None else in_range(_CASES.c.id)
    cases = {row[0]: dict(zip(_CASE_COLUMNS, row, strict=True)) for row in conn.execute(
        select(*(_CASES.c[name] for name in _CASE_COLUMNS)).where(case_where))}
    event_where = _EVENTS.c.case_id.in_(ids) if ids is not None else in_range(_EVENTS.c.case_id)
    events = _events_by_case(conn, event_where)
    rows, own = _rows(conn, lo, hi, ids, events)
    for cid, row in cases.items():
        rows["cases", str(cid)] = dict(row)
    for cid in sorted(events.keys() - cases.keys()):
        _add(report, Finding(f"(case id {cid})", f"{len(events[cid])} events but no case row (deleted, "
                                                  "or events moved onto it)", "case_missing"), limit)
    for cid in sorted(cases):
        case = cases[cid]
        evs = events.get(cid, [])
        report.cases += 1
        report.events += len(evs)
        for finding in check_case(ctx.audit_keys, case, evs, rows, own.get(cid, set()),
                                  accept_unkeyed=accept_unkeyed):
            _add(report, finding, limit)
    for cid, number, seq, head in cp_heads.upto(hi):
        if ids is not None and cid not in ids:
            continue
        n = cp_heads.n
        if cid not in cases:
            _add(report, Finding(number, f"case missing since checkpoint {n} (it had {seq} events then)",
                                 "case_missing"), limit)
            continue
        at = {ev["seq"]: ev for ev in events.get(cid, [])}
        if seq and seq not in at:
            last = max(at, default=0)
            _add(report, Finding(number, f"head went backwards: checkpoint {n} saw event {seq}, the trail "
                                         f"ends at {last}", "head_backwards", seq), limit)
        elif seq and at[seq]["hash"] != head:
            _add(report, Finding(number, f"event {seq} changed since checkpoint {n}",
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
