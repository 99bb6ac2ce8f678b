"""Importing a ledger: good rows registered through the service's rules, a batch a transaction.

Each batch of rows is registered by `bulkregister.register_many`, which applies every rule of
`CaseService.register` to each row, and its `imports` rows go in the same transaction: a row
becomes a case (or a link to the open case it repeats) *and* its record in `imports`, or leaves
nothing at all, so a crash mid-file never half-imports a row, and re-running the same file picks
up where it stopped. A row that fails a check is reported with its row and column and the rest of
its batch goes in; one the database refuses is reported the same way (its batch is then
registered row by row). The unique key (ledger id, else the row's content hash) makes re-imports
create nothing twice, even when two imports of one file race.

A file of several batches is read on two cores: a helper process (forked, so it has this one's
orgs, policy and calendars) parses, checks and builds the cases of the next batch
(`bulkregister.prepare_many`) while this process writes the current one, giving ids and numbers
and sealing the events. The helper writes and reads nothing of the cases, so what is stored is
what one process would store.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from duban.batches import batched
from duban.errors import DubanError, InvalidActionInput, OrgNotFound
from duban.importer.mapping import ParsedRow, RowError, RowParser
from duban.importer.reader import SheetRow, UnreadableFile, read_sheet
from duban.models import ImportedRow
from duban.services.bulkregister import Ready, prepare_many, register_many
from duban.services.cases import CaseService, Registered
from duban.services.context import Actor, ServiceContext
from duban.services.driver import inserting
from duban.services.redaction import get_redactor
from duban.services.subjects import build_index

Progress = Callable[[int, int], None]  # (rows done, rows in the file)
BATCH = 500  # rows registered in one transaction
HELPER_FROM = 4 * BATCH  # rows from which a helper process prepares the next batches
AHEAD = 2  # batches the helper may be ahead of the writer
# A row as the helper hands it back: its errors, or the parsed row and what prepare_many made
# of it (None: a check failed, the writer checks it again to report why).
Prepared = list[RowError] | tuple[ParsedRow, Ready | None]
# Compiled once and run at driver level, as the batch's cases are (bulkregister._inserting).
_RECORD = inserting(ImportedRow.__table__, ["key", "case_id", "linked", "source", "row",  # type: ignore[attr-defined]
                                            "imported_by", "imported_at"], returning_id=False)


@dataclass
class ImportResult:
    source: str
    rows: int = 0
    created: int = 0
    linked: int = 0  # repeats of an open case, linked to it (信访工作条例 art. 19)
    skipped: int = 0  # imported before (same ledger id or same content)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "rows": self.rows, "created": self.created,
                "linked": self.linked, "skipped": self.skipped, "rejected": self.rejected,
                "errors": [e.__dict__ for e in self.errors]}


def import_file(ctx: ServiceContext, path: str | Path, *, actor: Actor,
                default_office: str | None = None, progress: Progress | None = None,
                helpers: int | None = None) -> ImportResult:
    """Register every good row of an XLSX/CSV ledger; report each bad one by row and column.

    `helpers`: 1 to prepare the next batches in a helper process, 0 to do all here; by default
    a helper for a file of `HELPER_FROM` rows or more on a machine of several cores.
    """
    path = Path(path)
    labels = ctx.labels.ledger
    result = ImportResult(source=path.name)
    try:
        sheet = read_sheet(path)
    except (UnreadableFile, OSError) as exc:
        result.errors.append(RowError(0, "", labels["err_file"].format(message=exc)))
        return result
    parser = RowParser(sheet.headers, ctx.labels, default_office=default_office)
    missing = parser.missing_columns()
    if missing:
        result.errors.append(RowError(1, "", labels["err_columns"].format(
            columns=ctx.labels.text["list_sep"].join(missing))))
        return result
    service = CaseService(ctx)
    seen: dict[str, int] = {}
    if helpers is None:
        helpers = 1 if sheet.total >= HELPER_FROM and (os.cpu_count() or 1) > 1 else 0
    for batch, now in _prepared(service, parser, sheet.rows, actor, helpers=helpers):
        parsed_rows: list[ParsedRow] = []
        ready: dict[int, Ready | None] = {}
        for item in batch:
            result.rows += 1
            if isinstance(item, list):
                result.errors.extend(item)
            else:
                parsed_rows.append(item[0])
                ready[id(item[0])] = item[1]
        existing = _existing_keys(ctx, [p.key() for p in parsed_rows])
        fresh = [p for p in parsed_rows if _fresh(ctx, parser, p, seen, existing, result)]
        _import_batch(ctx, service, parser, fresh, actor, result, prepared_at=now,
                      prepared=[ready[id(p)] for p in fresh])
        if progress is not None:
            progress(result.rows, max(sheet.total, result.rows))
    result.errors.sort(key=lambda e: e.row)  # as the file runs (a stable sort: columns keep order)
    return result


def _prepared(service: CaseService, parser: RowParser, rows: Iterable[SheetRow], actor: Actor, *,
              helpers: int) -> Iterator[tuple[list[Prepared], dt.datetime]]:
    """Each batch of rows parsed, checked and built (`prepare_rows`), with the time it was
    prepared at (the registration's `now`), in the file's order."""
    batches = batched(rows, BATCH)
    if not helpers:
        for batch in batches:
            now = service.ctx.now()
            yield prepare_rows(service, parser, actor, batch, now), now
        return
    # Loaded and built before the fork, so the helper shares them.
    build_index(service.ctx.orgs)
    get_redactor()
    gc.freeze()  # the helper's collector then leaves what it shares alone (no copy on write)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                               initializer=_helper_start, initargs=(service, parser, actor))
    try:
        pending: deque[tuple[Future[list[Prepared]], dt.datetime]] = deque()
        for batch in batches:
            now = service.ctx.now()
            pending.append((pool.submit(_helper_prepare, batch, now), now))
            if len(pending) > AHEAD:
                future, at = pending.popleft()
                yield future.result(), at
        while pending:
            future, at = pending.popleft()
            yield future.result(), at
    finally:
        pool.shutdown(cancel_futures=True)
        gc.unfreeze()


def prepare_rows(service: CaseService, parser: RowParser, actor: Actor, batch: list[SheetRow],
                 now: dt.datetime, *, skip_imported: bool = False) -> list[Prepared]:
    """A batch's rows read into complaints, each checked and built for registration.

    With `skip_imported`, a row imported before is only read (a re-run of a file costs no
    checks): the writer skips it, or prepares it itself should it no longer be there."""
    parsed_rows: list[ParsedRow] = []
    out: list[Prepared] = []
    for sheet_row in batch:
        parsed = parser.parse(sheet_row.row, sheet_row.values)
        if isinstance(parsed, list):
            out.append(parsed)
        else:
            parsed_rows.append(parsed)
            out.append((parsed, None))
    if skip_imported:
        try:
            imported = _existing_keys(service.ctx, [p.key() for p in parsed_rows])
        except SQLAlchemyError:  # a database this process cannot open (in memory): prepare all
            imported = set()
        parsed_rows = [p for p in parsed_rows if p.key() not in imported]
    ready = dict(zip(map(id, parsed_rows), prepare_many(
        service, [p.data for p in parsed_rows], actor=actor, now=now), strict=True))
    return [item if isinstance(item, list) else (item[0], ready.get(id(item[0]))) for item in out]


_helper: tuple[CaseService, RowParser, Actor] | None = None  # set in the helper process


def _helper_start(service: CaseService, parser: RowParser, actor: Actor) -> None:
    global _helper
    # The parent's pooled connections are the parent's: this process opens its own (to read
    # which rows were imported before, nothing else).
    service.ctx.engine.dispose(close=False)
    _helper = (service, parser, actor)


def _helper_prepare(batch: list[SheetRow], now: dt.datetime) -> list[Prepared]:
    assert _helper is not None
    service, parser, actor = _helper
    return prepare_rows(service, parser, actor, batch, now, skip_imported=True)


def _existing_keys(ctx: ServiceContext, keys: list[str]) -> set[str]:
    """The keys among `keys` imported before: one query per batch, not one per row."""
    if not keys:
        return set()
    with Session(ctx.engine) as session:
        return set(session.exec(select(ImportedRow.key).where(col(ImportedRow.key).in_(keys))))


def _already(ctx: ServiceContext, key: str) -> bool:
    with Session(ctx.engine) as session:
        return session.exec(select(ImportedRow.id).where(ImportedRow.key == key)).first() is not None


def _fresh(ctx: ServiceContext, parser: RowParser, parsed: ParsedRow, seen: dict[str, int],
           existing: set[str], result: ImportResult) -> bool:
    """Whether the row is still to register: not a repeat of a row above, not imported before."""
    key = parsed.key()
    if key in seen:
        result.errors.append(RowError(parsed.row, parser.header("ledger_id") if parsed.ledger_id else "",
                                      ctx.labels.ledger["err_duplicate"].format(row=seen[key])))
        return False
    seen[key] = parsed.row
    if key in existing:
        result.skipped += 1
        return False
    return True


def _import_batch(ctx: ServiceContext, service: CaseService, parser: RowParser,
                  rows: list[ParsedRow], actor: Actor, result: ImportResult, *,
                  prepared_at: dt.datetime, prepared: list[Ready | None]) -> None:
    if not rows:
        return
    source, now, keys = result.source[:200], ctx.now(), [p.key() for p in rows]

    def record(session: Session, done: list[tuple[int, Registered]]) -> None:
        # A key another import committed first fails here, inside the batch's transaction.
        _RECORD.run_many(session, [
            {"key": keys[i], "case_id": registered.case.id, "linked": registered.linked,
             "source": source, "row": rows[i].row, "imported_by": actor.name, "imported_at": now}
            for i, registered in done])

    outcomes = register_many(service, [p.data for p in rows], actor=actor, record=record,
                             now=prepared_at, prepared=prepared)
    for parsed, key, outcome in zip(rows, keys, outcomes, strict=True):
        if isinstance(outcome, Registered):
            if outcome.linked:
                result.linked += 1
            else:
                result.created += 1
        elif isinstance(outcome, DubanError):
            result.errors.append(RowError(parsed.row, _column_of(outcome, parser, parsed), str(outcome)))
        elif _already(ctx, key):
            result.skipped += 1  # another import of the same row committed first
        else:
            result.errors.append(RowError(parsed.row, "", ctx.labels.ledger["err_refused"].format(
                error=type(outcome).__name__)))


def _column_of(exc: DubanError, parser: RowParser, parsed: ParsedRow) -> str:
    """The column a service error is about, so the office knows which cell to fix."""
    if isinstance(exc, InvalidActionInput):
        return parser.header(exc.field)
    if isinstance(exc, OrgNotFound):
        for field in ("office_code", "subject_org_code"):
            if getattr(parsed.data, field) == exc.ref:
                return parser.header(field)
    return ""
