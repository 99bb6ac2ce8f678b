"""The account record: one keyed chain of every change to who may sign in and what they may see.

Not per case: one chain for the database (duban.services.accountaudit), append-only in the
database itself as the case trail is (models/audit.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, JSON, Column, String, Text, event
from sqlmodel import Field, SQLModel

from duban.models import audit as _audit  # its grants (after every table) must run before ours
from duban.models.base import UTCDateTime


class AccountEvent(SQLModel, table=True):
    __tablename__ = "account_events"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)  # 1, 2, 3… over the whole record; a gap means an event is missing
    at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=80)  # the administrator (user name) or the CLI's operator
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=32)  # labels.toml [account_actions]
    username: str = Field(max_length=60, index=True)  # whose account
    # What changed (codes, names and flags; never a password or its hash).
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The account's facts after the change (canonical JSON: id, role, org_id, display_name, active).
    facts: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(max_length=64)  # the MAC (duban.services.accountaudit)
    alg: str = Field(sa_column=Column(String(8), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), nullable=False))


# Append-only as audit_events is (models/audit.py): no UPDATE, DELETE or replacing INSERT; on
# PostgreSQL the application's role may not UPDATE, DELETE or TRUNCATE it either. Migration 0024
# runs the same statements.
ACCOUNT_APPEND_ONLY_DDL: dict[str, list[str]] = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS account_events_no_update BEFORE UPDATE ON account_events "
        "BEGIN SELECT RAISE(ABORT, 'account_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS account_events_no_delete BEFORE DELETE ON account_events "
        "BEGIN SELECT RAISE(ABORT, 'account_events is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS account_events_no_replace BEFORE INSERT ON account_events "
        "WHEN EXISTS (SELECT 1 FROM account_events WHERE id = NEW.id OR seq = NEW.seq) "
        "BEGIN SELECT RAISE(ABORT, 'account_events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION account_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'account_events is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER account_events_append_only BEFORE UPDATE OR DELETE ON account_events "
        "FOR EACH ROW EXECUTE FUNCTION account_events_append_only()",
    ],
}
# After APP_ROLE_GRANTS, which grants every table to the application's role.
ACCOUNT_REVOKE = f"""DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{_audit.APP_ROLE}') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON account_events FROM {_audit.APP_ROLE};
    END IF;
    REVOKE UPDATE, DELETE, TRUNCATE ON account_events FROM PUBLIC;
END $$"""

for _dialect, _statements in ACCOUNT_APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AccountEvent.__table__, "after_create",  # type: ignore[attr-defined]
                     DDL(_statement).execute_if(dialect=_dialect))
event.listen(SQLModel.metadata, "after_create", DDL(ACCOUNT_REVOKE).execute_if(dialect="postgresql"))
