"""Any filtered case list to XLSX or CSV, masked for whoever will hold the file.

The list is the one the screen shows (`duban.services.queries.list_cases`: the same scope, filter
and order). A file leaves Duban, so the rule is stricter than the screen's
(`privacy.may_export_complainant`): only the office's own staff get complainant columns; for
anyone else there are none, and a complainant's name, phone or address written into a title or
summary is masked as well, whatever consent was given.
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
from duban.models import Case, Complainant, RepeatContact, Subject
from duban.services.context import Actor, ServiceContext
from duban.services.privacy import identifiers, may_export_complainant, redact
from duban.services.queries import CaseFilter, CaseRow, list_cases

CASE_COLUMNS = ("number", "received_at", "level", "office", "channel", "category", "priority", "title",
                "summary", "subject_name", "disposition", "unit", "state", "deadline_kind",
                "deadline_on", "warning", "return_count", "repeat_count", "closed_at")
COMPLAINANT_COLUMNS = ("complainant_name", "complainant_phone", "complainant_real_name")
_CHUNK = 5000  # ids per IN (...): well under SQLite's bound-parameter limit


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def _extras(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = (select(Case.id, Case.channel, Case.category, Case.summary, Case.closed_at,  # type: ignore[call-overload]
                        Subject.name, Complainant)
                 .outerjoin(Subject, Subject.id == Case.subject_id)
                 .outerjoin(Complainant, Complainant.id == Case.complainant_id)
                 .where(Case.id.in_(chunk)))  # type: ignore[union-attr]
        for case_id, channel, category, summary, closed_at, subject, complainant in session.execute(query):
            out[case_id] = {"channel": channel, "category": category, "summary": summary,
                            "closed_at": closed_at, "subject_name": subject or "",
                            "complainant": complainant}
    return out


def _secrets(session: Session, ids: list[int], extras: dict[int, dict[str, Any]]) -> dict[int, list[str]]:
    """Every complainant identifier per case (first complaint and repeats)."""
    out: dict[int, list[str]] = {}
    for case_id, extra in extras.items():
        if extra["complainant"] is not None:
            out.setdefault(case_id, []).extend(identifiers(extra["complainant"]))
    for chunk in _chunks(ids):
        query = (select(RepeatContact.case_id, Complainant)  # type: ignore[call-overload]
                 .join(Complainant, Complainant.id == RepeatContact.complainant_id)
                 .where(RepeatContact.case_id.in_(chunk)))  # type: ignore[attr-defined]
        for case_id, complainant in session.execute(query):
            out.setdefault(case_id, []).extend(identifiers(complainant))
    return out


def export_rows(ctx: ServiceContext, flt: CaseFilter, *, viewer: Actor) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the filtered list as `viewer` may take it away."""
    labels = ctx.labels
    g = labels.ledger
    with_identity = may_export_complainant(viewer)
    rows: list[CaseRow] = list_cases(ctx, flt, viewer=viewer)
    ids = [r.id for r in rows]
    with Session(ctx.engine) as session:
        extras = _extras(session, ids)
        secrets = {} if with_identity else _secrets(session, ids, extras)
    masked = labels.text["masked"]
    columns = [*CASE_COLUMNS, *(COMPLAINANT_COLUMNS if with_identity else ())]
    headers = [g.get(c, labels.report.get(c, c)) for c in columns]
    out = []
    for r in rows:
        extra = extras.get(r.id, {})
        hidden = secrets.get(r.id, [])
        complainant = extra.get("complainant")
        values: dict[str, Any] = {
            "number": r.number, "received_at": _local(r.received_at),
            "level": labels.of("levels", r.level), "office": r.office,
            "channel": labels.of("channels", extra.get("channel")),
            "category": labels.of("categories", extra.get("category")),
            "priority": labels.of("priorities", r.priority),
            "title": redact(r.title, hidden, masked),
            "summary": redact(extra.get("summary", ""), hidden, masked),
            "subject_name": redact(extra.get("subject_name", ""), hidden, masked),
            "disposition": labels.of("dispositions", r.disposition), "unit": r.unit or "",
            "state": labels.of("states", r.state),
            "deadline_kind": labels.of("deadline_kinds", r.deadline_kind),
            "deadline_on": r.deadline_on, "warning": labels.of("warnings", r.warning),
            "return_count": r.return_count, "repeat_count": r.repeat_count,
            "closed_at": _local(extra.get("closed_at")),
        }
        if with_identity:
            values["complainant_name"] = complainant.name if complainant else ""
            values["complainant_phone"] = complainant.phone if complainant else ""
            values["complainant_real_name"] = (g["yes"] if complainant and complainant.real_name
                                               else g["no"])
        out.append([values[c] for c in columns])
    return headers, out


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return shanghai(value).replace(tzinfo=None) if value is not None else None


def export_cases(ctx: ServiceContext, flt: CaseFilter, path: str | Path, *, viewer: Actor,
                 force: bool = False) -> int:
    """Write the list to `path` (.xlsx, else CSV with a BOM so Excel reads it as UTF-8).

    The file is created 0600; an existing `path` is FileExists unless `force`, and the database
    is ProtectedFile whatever `force` says (duban.files).
    """
    path = Path(path)
    count = 0

    def write(out: Path) -> None:
        nonlocal count
        headers, rows = export_rows(ctx, flt, viewer=viewer)
        count = len(rows)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            wb = Workbook(write_only=True)
            ws = wb.create_sheet(ctx.labels.report.get("sheet_ledger", "cases"))
            ws.freeze_panes = "A2"
            ws.append(xlsx_row(ws, headers))
            for row in rows:
                ws.append(xlsx_row(ws, row))
            wb.save(out)
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(csv_row(headers))
                for row in rows:
                    writer.writerow(csv_row(row))

    write_private(path, write, force=force, protected=database_files(ctx.engine))
    return count
