"""Importing a ledger: each good row registered through `CaseService`, in a transaction of its own.

Why one transaction per row, and the `imports` row inside it: a row either becomes a case (or a
link to the open case it repeats) *and* its record in `imports`, or leaves nothing at all, so a
crash or a bad row mid-file never half-imports, and re-running the same file picks up where it
stopped. The unique key (ledger id, else the row's content hash) makes re-imports create nothing
twice, even when two imports of one file race.

Speed is the service layer's: each row is an ordinary registration (repeat check, numbering,
deadline from the calendar, audit event) at roughly a thousand rows a second on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from duban.errors import DubanError, InvalidActionInput, OrgNotFound
from duban.importer.mapping import ParsedRow, RowError, RowParser
from duban.importer.reader import SheetRow, UnreadableFile, read_sheet
from duban.models import ImportedRow
from duban.services.cases import CaseService, Registered
from duban.services.context import Actor, ServiceContext

Progress = Callable[[int, int], None]  # (rows done, rows in the file)
BATCH = 500  # rows parsed and checked against `imports` together


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
                default_office: str | None = None, progress: Progress | None = None) -> ImportResult:
    """Register every good row of an XLSX/CSV ledger; report each bad one by row and column."""
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
    for batch in _batches(sheet.rows, BATCH):
        parsed_rows: list[ParsedRow] = []
        for sheet_row in batch:
            result.rows += 1
            parsed = parser.parse(sheet_row.row, sheet_row.values)
            if isinstance(parsed, list):
                result.errors.extend(parsed)
            else:
                parsed_rows.append(parsed)
        existing = _existing_keys(ctx, [p.key() for p in parsed_rows])
        done = result.rows - len(parsed_rows)  # rejected rows of the batch are done already
        for parsed in parsed_rows:
            _import_row(ctx, service, parser, parsed, seen, existing, actor, result)
            done += 1
            if progress is not None:
                progress(done, max(sheet.total, done))
    return result


def _batches(rows: Iterable[SheetRow], size: int) -> Iterator[list[SheetRow]]:
    batch: list[SheetRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing_keys(ctx: ServiceContext, keys: list[str]) -> set[str]:
    """The keys among `keys` imported before: one query per batch, not one per row."""
    if not keys:
        return set()
    with Session(ctx.engine) as session:
        return set(session.exec(select(ImportedRow.key).where(col(ImportedRow.key).in_(keys))))


def _already(ctx: ServiceContext, key: str) -> bool:
    with Session(ctx.engine) as session:
        return session.exec(select(ImportedRow.id).where(ImportedRow.key == key)).first() is not None


def _import_row(ctx: ServiceContext, service: CaseService, parser: RowParser, parsed: ParsedRow,
                seen: dict[str, int], existing: set[str], actor: Actor, result: ImportResult) -> None:
    key = parsed.key()
    labels = ctx.labels.ledger
    if key in seen:
        result.errors.append(RowError(parsed.row, parser.header("ledger_id") if parsed.ledger_id else "",
                                      labels["err_duplicate"].format(row=seen[key])))
        return
    seen[key] = parsed.row
    if key in existing:
        result.skipped += 1
        return

    def record(session: Session, registered: Registered) -> None:
        assert registered.case.id is not None
        session.add(ImportedRow(key=key, case_id=registered.case.id, linked=registered.linked,
                                source=result.source[:200], row=parsed.row, imported_by=actor.name,
                                imported_at=ctx.now()))
        session.flush()  # a duplicate key fails here, inside the row's transaction

    try:
        registered = service.register(parsed.data, actor=actor, also=record)
    except IntegrityError:
        if not _already(ctx, key):
            raise
        result.skipped += 1  # another import of the same row committed first
        return
    except DubanError as exc:
        result.errors.append(RowError(parsed.row, _column_of(exc, parser, parsed), str(exc)))
        return
    if registered.linked:
        result.linked += 1
    else:
        result.created += 1


def _column_of(exc: DubanError, parser: RowParser, parsed: ParsedRow) -> str:
    """The column a service error is about, so the office knows which cell to fix."""
    if isinstance(exc, InvalidActionInput):
        return parser.header(exc.field)
    if isinstance(exc, OrgNotFound):
        for field in ("office_code", "subject_org_code"):
            if getattr(parsed.data, field) == exc.ref:
                return parser.header(field)
    return ""
