"""Recomputing redacted twins: for one case when a complainant joins it, for all after a rule change.

The twins are written with the raw text (duban.services.redaction). They must be recomputed when
what counts as identity changes: a repeat complaint brings a new complainant into a case (their
name may already stand in the case's texts), or the patterns and word lists change
(`duban privacy redact`), or a database predates the twins (migration 0003: `duban db upgrade`
fills them). Only twins that differ are written, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from duban.db import row_locks, write_transaction
from duban.models import Case
from duban.services.persist import write_events
from duban.services.redaction import Identity, case_identities, redact_text

# table -> (raw column, twin column) pairs. audit_events' trigger lets exactly this column change.
TWINS: dict[str, tuple[tuple[str, str], ...]] = {
    "cases": (("title", "title_redacted"), ("summary", "summary_redacted")),
    "repeat_contacts": (("title", "title_redacted"),),
    "handling_reports": (("text", "text_redacted"), ("actions_taken", "actions_taken_redacted"),
                         ("rectification", "rectification_redacted"),
                         ("accountability", "accountability_redacted")),
    "reviews": (("reasons", "reasons_redacted"),),
    "callbacks": (("note", "note_redacted"),),
    "extensions": (("reason", "reason_redacted"), ("decision_note", "decision_note_redacted")),
    "declines": (("note", "note_redacted"),),
    "objections": (("reason", "reason_redacted"), ("decision_note", "decision_note_redacted")),
    "interviews": (("note", "note_redacted"),),
    "pressure_proposals": (("reason", "reason_redacted"),),
    "audit_events": (("reason", "reason_redacted"),),
    "referrals": (("outcome_note", "outcome_note_redacted"),),
    "attachments": (("name", "name_redacted"),),
}


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def _case_column(table: Table) -> Any:
    return table.c.id if table.name == "cases" else table.c.case_id


_UPDATES: dict[str, Any] = {
    name: update(_table(name)).where(_table(name).c.id == bindparam("row_id"))
    .values({twin: bindparam(f"new_{twin}") for _, twin in pairs})
    for name, pairs in TWINS.items() if name != "cases"
}


def _changes(rows: Any, pairs: tuple[tuple[str, str], ...],
             identity_of: Callable[[int], Identity]) -> list[dict[str, Any]]:
    """The update parameters of the rows whose twins differ from what the rules give now."""
    out = []
    for row in rows:
        identity = identity_of(row.case_ref)
        fresh = {twin: redact_text(getattr(row, raw), identity) for raw, twin in pairs}
        if any(fresh[twin] != getattr(row, twin) for _, twin in pairs):
            out.append({"row_id": row.id, **{f"new_{twin}": value for twin, value in fresh.items()}})
    return out


def reredact_case(session: Session, case: Case, identity: Identity) -> int:
    """Recompute every twin of one case (in the caller's transaction); how many rows changed.

    The case row itself is tracked by the caller's action and written at commit (persist.py);
    the other tables get one UPDATE per changed row.
    """
    assert case.id is not None
    write_events(session)  # this transaction's events of the case are rewritten too
    changed = 0
    conn = session.connection()
    # The raw texts by a statement of their own: an action loads its case without them.
    cases = _table("cases")
    raw_texts = conn.execute(select(*[cases.c[raw] for raw, _ in TWINS["cases"]])
                             .where(cases.c.id == case.id)).one()
    for (_, twin), text in zip(TWINS["cases"], raw_texts, strict=True):
        fresh = redact_text(text, identity)
        if fresh != getattr(case, twin):
            setattr(case, twin, fresh)
            changed = 1
    for name, pairs in TWINS.items():
        if name == "cases":
            continue
        table = _table(name)
        rows = conn.execute(_rows_query(table, pairs).where(table.c.case_id == case.id))
        params = _changes(rows, pairs, lambda _: identity)
        if params:
            conn.execute(_UPDATES[name], params)
            changed += len(params)
    return changed


def _rows_query(table: Table, pairs: tuple[tuple[str, str], ...]) -> Any:
    columns = [table.c[c] for pair in pairs for c in pair]
    return select(table.c.id, _case_column(table).label("case_ref"), *columns)


@dataclass
class RedactCounts:
    """Per table: rows that hold text (looked at) and rows whose twins were rewritten."""

    looked_at: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def redact_all(engine: Engine, *, chunk_size: int = 1000,
               progress: Callable[[str, int, int], None] | None = None, check: bool = False) -> RedactCounts:
    """Recompute every stored twin with the current rules, a chunk of rows per transaction.

    Idempotent: rows whose twins are already right are not written. Resumable: a run stopped
    half-way leaves each chunk either done or untouched, and the next run finishes the rest.
    `progress(table, looked_at, changed)` is called after each chunk. `check`: count the twins
    that differ and write nothing (a twin is derived, not sealed in the audit trail: one edited in
    the database, say set to its raw text, shows here).
    """
    counts = RedactCounts()
    for name, pairs in TWINS.items():
        table = _table(name)
        # Only rows with some text, raw or twin: an empty text has an empty twin.
        has_text = or_(*[table.c[raw] != "" for raw, _ in pairs],
                       *[table.c[twin] != "" for _, twin in pairs])
        query = _rows_query(table, pairs).where(has_text, table.c.id > bindparam("after"))
        query = query.order_by(table.c.id).limit(chunk_size)
        looked_at = changed = 0
        after = 0
        while True:
            with engine.connect() if check else write_transaction(engine) as conn:
                rows = conn.execute(query, {"after": after}).all()
                if not rows:
                    break
                after = rows[-1].id
                case_ids = sorted({row.case_ref for row in rows})
                if row_locks(conn) and not check:
                    # A repeat link locks its case too: its newcomer's identity is either in the
                    # identities read next, or its own recomputation comes after this chunk's.
                    conn.execute(_LOCK_CASES, {"ids": case_ids})
                identities = case_identities(conn, case_ids)
                params = _changes(rows, pairs, identities.__getitem__)
                if params and not check:
                    conn.execute(_update_all(name), params)
                looked_at += len(rows)
                changed += len(params)
            if progress is not None:
                progress(name, looked_at, changed)
        counts.looked_at[name] = looked_at
        counts.changed[name] = changed
    return counts


_LOCK_CASES = (select(_table("cases").c.id).where(_table("cases").c.id.in_(bindparam("ids", expanding=True)))
               .order_by(_table("cases").c.id).with_for_update())


def _update_all(name: str) -> Any:
    if name != "cases":
        return _UPDATES[name]
    table = _table("cases")
    # Twins only: a case's version is not bumped, since nothing anyone acts on changed.
    return (update(table).where(table.c.id == bindparam("row_id"))
            .values({twin: bindparam(f"new_{twin}") for _, twin in TWINS["cases"]}))

