"""Any filtered case list to XLSX or CSV, as whoever will hold the file may read it.

The list is the one the screen shows (`duban.services.reading.list_cases`: the same scope, filter
and order), read through the same door. A file leaves Duban, so consent does not count here
(`consent=False`): a unit gets the redacted texts even of a case whose complainant agreed. Only the
privacy policy's identity roles get complainant columns, filled for the cases they may see in full.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlmodel import Session

from duban.cells import csv_row, xlsx_row
from duban.clock import shanghai
from duban.files import database_files, write_private
from duban.models import Case, Subject
from duban.services.context import Actor, ServiceContext
from duban.services.queries import CaseFilter, CaseRow
from duban.services.reading import Facts, case_texts, complainants_of, list_cases

CASE_COLUMNS = ("number", "received_at", "level", "office", "channel", "category", "priority", "title",
                "summary", "subject_name", "disposition", "unit", "state", "deadline_kind",
                "deadline_on", "warning", "return_count", "repeat_count", "closed_at")
COMPLAINANT_COLUMNS = ("complainant_name", "complainant_phone", "complainant_real_name")
_CHUNK = 5000  # ids per IN (...): well under SQLite's bound-parameter limit


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def _extras(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a row lacks, none of it a text that could name the complainant."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = (select(Case.id, Case.office_id, Case.unit_id, Case.channel, Case.category,  # type: ignore[call-overload]
                        Case.closed_at, Subject.name)
                 .outerjoin(Subject, Subject.id == Case.subject_id)
                 .where(Case.id.in_(chunk)))  # type: ignore[union-attr]
        for case_id, office_id, unit_id, channel, category, closed_at, subject in session.execute(query):
            out[case_id] = {"facts": Facts(case_id, office_id, unit_id), "channel": channel,
                            "category": category, "closed_at": closed_at, "subject_name": subject or ""}
    return out


def export_rows(ctx: ServiceContext, flt: CaseFilter, *, actor: Actor) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the filtered list as `actor` may take it away."""
    return rows_as(ctx, list_cases(ctx, flt, actor=actor, consent=False), actor=actor)


def rows_as(ctx: ServiceContext, rows: Sequence[CaseRow], *, actor: Actor
            ) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of list rows `actor` may see (read through duban.services.reading), as
    `actor` may take them away: the texts without consent, complainant columns for identity roles."""
    labels = ctx.labels
    g = labels.ledger
    with_identity = actor.role in ctx.policy.privacy.identity_roles
    ids = [r.id for r in rows]
    with Session(ctx.engine) as session:
        extras = _extras(session, ids)
        texts = case_texts(session, ctx, ids, actor=actor, consent=False)
        people = (complainants_of(session, ctx, [e["facts"] for e in extras.values()], actor=actor,
                                  consent=False) if with_identity else {})
    masked = labels.text["masked"]
    columns = [*CASE_COLUMNS, *(COMPLAINANT_COLUMNS if with_identity else ())]
    headers = [g.get(c, labels.report.get(c, c)) for c in columns]
    out = []
    for r in rows:
        extra = extras.get(r.id, {})
        values: dict[str, Any] = {
            "number": r.number, "received_at": _local(r.received_at),
            "level": labels.of("levels", r.level), "office": r.office,
            "channel": labels.of("channels", extra.get("channel")),
            "category": labels.of("categories", extra.get("category")),
            "priority": labels.of("priorities", r.priority),
            "title": texts.get(r.id, {}).get("title", r.title),
            "summary": texts.get(r.id, {}).get("summary", ""),
            "subject_name": extra.get("subject_name", ""),
            "disposition": labels.of("dispositions", r.disposition), "unit": r.unit or "",
            "state": labels.of("states", r.state),
            "deadline_kind": labels.of("deadline_kinds", r.deadline_kind),
            "deadline_on": r.deadline_on, "warning": labels.of("warnings", r.warning),
            "return_count": r.return_count, "repeat_count": r.repeat_count,
            "closed_at": _local(extra.get("closed_at")),
        }
        if with_identity:
            person = people.get(r.id)
            values["complainant_name"] = person.name if person else masked
            values["complainant_phone"] = person.phone if person else masked
            values["complainant_real_name"] = g["yes"] if person and person.real_name else g["no"]
        out.append([values[c] for c in columns])
    return headers, out


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return shanghai(value).replace(tzinfo=None) if value is not None else None


def ledger_workbook(ctx: ServiceContext, headers: list[str], rows: Iterable[list[Any]]) -> Workbook:
    """A write-only workbook with the ledger sheet (a caller may add sheets before saving it)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(ctx.labels.report.get("sheet_ledger", "cases"))
    ws.freeze_panes = "A2"
    ws.append(xlsx_row(ws, headers))
    for row in rows:
        ws.append(xlsx_row(ws, row))
    return wb


def export_cases(ctx: ServiceContext, flt: CaseFilter, path: str | Path, *, actor: Actor,
                 force: bool = False) -> int:
    """Write the list to `path` (.xlsx, else CSV with a BOM so Excel reads it as UTF-8).

    The file is created 0600; an existing `path` is FileExists unless `force`, and the database
    is ProtectedFile whatever `force` says (duban.files).
    """
    path = Path(path)
    count = 0

    def write(out: Path) -> None:
        nonlocal count
        headers, rows = export_rows(ctx, flt, actor=actor)
        count = len(rows)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            ledger_workbook(ctx, headers, rows).save(out)
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(csv_row(headers))
                for row in rows:
                    writer.writerow(csv_row(row))

    write_private(path, write, force=force, protected=database_files(ctx.engine))
    return count
