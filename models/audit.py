"""The append-only audit trail: one event per action, chained per case by hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, JSON, Column, Index, String, Text, UniqueConstraint, event
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
    # report probes it per case, and the narrow index makes the monthly report much faster.
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
    hash: str = Field(max_length=64)  # the MAC (duban.services.audit)
    # The MAC's algorithm (sm3 | sha256; empty: an unkeyed event from before migration 0005) and
    # the id of the key it was made with (duban.services.auditkeys).
    alg: str = Field(default="", sa_column=Column(String(8), nullable=False, default="", server_default=""))
    key_id: str = Field(default="", sa_column=Column(String(16), nullable=False, default="",
                                                      server_default=""))
    # The case's facts after the action (duban.services.audit.FACT_FIELDS) and the rows the action
    # wrote with their digests (duban.services.auditrows): both under the MAC.
    facts: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))
    rows: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))


# Append-only in the database itself, not just by convention: an UPDATE or DELETE of an audit
# event fails whoever sends it, and on SQLite so does an INSERT that would replace one (INSERT OR
# REPLACE deletes the old row without firing DELETE triggers). On PostgreSQL the application's role
# (duban_app) is also denied UPDATE, DELETE and TRUNCATE of the table (APP_ROLE_GRANTS; TRUNCATE
# fires no row trigger). One exception: reason_redacted, the reason's redacted twin, may be
# recomputed when the redaction rules change (`duban privacy redact`); it is not sealed.
# The migrations run the same statements (0001, 0004 and 0005).
FROZEN_COLUMNS = ("id", "case_id", "seq", "at", "actor", "actor_role", "action", "from_state",
                  "to_state", "reason", "data", "prev_hash", "hash", "alg", "key_id", "facts",
                  "rows")  # every column but the twin
APPEND_ONLY_DDL: dict[str, list[str]] = {
    "sqlite": [
        # UPDATE OF: fires when any of these columns is SET, whatever its value.
        f"CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE OF "
        f"{', '.join(FROZEN_COLUMNS)} ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_events_no_replace BEFORE INSERT ON audit_events "
        "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id "
        "OR (case_id = NEW.case_id AND seq = NEW.seq)) "
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

# The role the service runs as on PostgreSQL (docs/faults.md, "Operators"): it may read and write
# every table but never rewrite or empty the audit trail. Only reason_redacted may be updated (the
# batch that re-redacts texts after a rule change). Made by the migration when the migrating role
# may create roles; an operator grants it to the login role the service uses.
APP_ROLE = "duban_app"
APP_ROLE_GRANTS: list[str] = [
    f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'cannot create role {APP_ROLE}: create it and rerun the grants (docs/faults.md)';
WHEN duplicate_object OR unique_violation THEN
    NULL;  -- made by another process between the check and the CREATE (roles are the cluster's)
END $$""",
    f"""DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        GRANT USAGE ON SCHEMA public TO {APP_ROLE};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_ROLE};
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {APP_ROLE};
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC;
        GRANT UPDATE (reason_redacted) ON audit_events TO {APP_ROLE};
    END IF;
END $$""",
]

for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create",  # type: ignore[attr-defined]
                     DDL(_statement).execute_if(dialect=_dialect))
for _statement in APP_ROLE_GRANTS:  # once every table exists
    event.listen(SQLModel.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
