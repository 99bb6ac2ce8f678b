"""The append-only audit trail: one event per action, chained per case by hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, JSON, Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        # Reports: "has this case been dispatched / answered / reported late" (EXISTS per case),
        # and the actions of a kind taken in a period.
        Index("ix_audit_events_case_action", "case_id", "action"),
        Index("ix_audit_events_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Its own index although UNIQUE (case_id, seq) and (case_id, action) lead with it: PostgreSQL's
    # report probes it per case, and the narrow index made the monthly report 2.8 → 1.6 s at 1M.
    case_id: int = Field(foreign_key="cases.id", index=True)
    seq: int  # 1, 2, 3… within the case; a gap means an event is missing
    at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=80)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=32)  # indexed by (action, at); each index costs every insert
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The reason with identity cut out; `data` holds codes and numbers only, never free text.
    reason_redacted: str = Field(default="", sa_column=redacted_column())
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(max_length=64)


# Append-only in the database itself, not just by convention: an UPDATE or DELETE of an audit
# event fails whoever sends it. (TRUNCATE and DROP, used by tests and restores, are not row events.)
# One exception: reason_redacted, the reason's redacted twin, may be recomputed when the
# redaction rules change (`duban privacy redact`); it is not part of the hash chain.
# The migrations run the same statements (0001_initial_schema.py; 0004_audit_twin_update.py).
FROZEN_COLUMNS = ("id", "case_id", "seq", "at", "actor", "actor_role", "action", "from_state",
                  "to_state", "reason", "data", "prev_hash", "hash")  # every column but the twin
APPEND_ONLY_DDL: dict[str, list[str]] = {
    "sqlite": [
        # UPDATE OF: fires when any of these columns is SET, whatever its value.
        f"CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE OF "
        f"{', '.join(FROZEN_COLUMNS)} ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    ],
    "postgresql": [
        # The whole row but the twin compared (to_jsonb: a column added later is covered too).
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
        "BEGIN IF TG_OP = 'UPDATE' AND "
        "(to_jsonb(NEW) - 'reason_redacted') = (to_jsonb(OLD) - 'reason_redacted') THEN RETURN NEW; "
        "END IF; RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ],
}
for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create",  # type: ignore[attr-defined]
                     DDL(_statement).execute_if(dialect=_dialect))
