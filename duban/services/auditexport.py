"""`duban audit export --case N`: one case's trail with all an outside auditor needs to check it.

The file holds the case's events, the rows they name (covered columns only), the case's facts,
the case's own chain key (derived from the master key for this case alone: it checks this case's
MACs and no other), and the last checkpoint with the Merkle path from this case's head to its
signed root and the public key. scripts/audit-check checks such a file with nothing of Duban
(docs/faults.md, "For the outside auditor"). `export_accounts` does the same for the account
record (services/accountaudit.py): its events, every user's facts, the record's own key and the
last checkpoint, whose line carries the record's head.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from duban.errors import CaseNotFound
from duban.models import AccountEvent, AuditEvent, Case, User
from duban.services import accountaudit
from duban.services.audit import FACT_FIELDS, facts_like, facts_of, utc_iso
from duban.services.auditrows import _canon, covered_tables, row_body
from duban.services.checkpoints import (
    Place,
    check_log,
    checkpoint_heads,
    database_name,
    leaf,
    merkle_proof,
    public_key,
    public_pem,
)
from duban.services.context import ServiceContext

_CASES = Case.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_ACCOUNT_EVENTS = AccountEvent.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]


def _plain(value: Any) -> Any:
    return _canon(value) if isinstance(value, dt.date) else value


def export_case(ctx: ServiceContext, number: str, place: Place | None = None) -> dict[str, Any]:
    covered = covered_tables()
    with ctx.engine.connect() as conn:
        case = conn.execute(select(_CASES).where(_CASES.c.number == number)).mappings().first()
        if case is None:
            raise CaseNotFound(number)
        events = [dict(ev) for ev in conn.execute(
            select(*(c for c in _EVENTS.columns if not c.name.endswith("_redacted")))
            .where(_EVENTS.c.case_id == case["id"]).order_by(_EVENTS.c.seq)).mappings()]
        rows: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for ev in events:
            for table, key, _ in json.loads(ev["rows"] or "[]"):
                if (table, str(key)) in seen:
                    continue
                seen.add((table, str(key)))
                spec = covered[table]
                if table == "cases":
                    values: Any = case
                elif spec.key == ("id",):
                    values = conn.execute(select(spec.table).where(spec.table.c.id == key)).mappings().first()
                else:
                    parts = dict(zip(spec.key, str(key).split("/"), strict=False))
                    query = select(spec.table).where(spec.table.c[spec.case_column] == case["id"])
                    for name, part in parts.items():
                        query = query.where(spec.table.c[name] == part)
                    values = conn.execute(query).mappings().first()
                rows.append({"table": table, "key": key, "values": None if values is None else
                             row_body(spec, values), "columns": list(spec.columns)})
    keys = ctx.audit_keys
    case_keys = {f"{ev['key_id']}/{ev['alg']}": keys.case_key(ev["key_id"], ev["alg"], case["id"])
                 for ev in events if ev["alg"]}
    said = events[-1]["facts"] if events and events[-1]["facts"] else ""
    facts = facts_like(case, said) if said else facts_of(case)  # as far as the last event's go
    doc: dict[str, Any] = {
        "format": "duban-audit-export/1",
        "case": {"id": case["id"], "number": case["number"], "audit_seq": case["audit_seq"],
                 "audit_hash": case["audit_hash"], "facts": facts, "fact_fields": list(FACT_FIELDS)},
        "events": [{k: _plain(v) for k, v in ev.items()} for ev in events],
        "rows": rows,
        "case_keys": {name: key.hex() for name, key in case_keys.items() if key is not None},
    }
    if place is not None:
        log = check_log(place, database_name(ctx.engine))
        key = public_key(place)
        if log.last is not None and key is not None:
            heads = list(checkpoint_heads(place, log.last))
            alg = log.last["alg"]
            leaves = [leaf(alg, *head) for head in heads]
            index = next((i for i, head in enumerate(heads) if head[0] == case["id"]), None)
            doc["checkpoint"] = {
                "line": log.last, "public_key": public_pem(key).decode(),
                "head": None if index is None else list(heads[index]),
                "proof": None if index is None else merkle_proof(alg, leaves, index),
            }
    return doc


def export_accounts(ctx: ServiceContext, place: Place | None = None) -> dict[str, Any]:
    """The account record as an outside auditor checks it: every event (times as sealed), every
    user's facts and last event, the record's key (it checks this record's MACs and nothing else)
    and the last checkpoint line with the public key. Never a password hash."""
    with ctx.engine.connect() as conn:
        events = [{**ev, "at": utc_iso(ev["at"])} for ev in
                  conn.execute(select(_ACCOUNT_EVENTS).order_by(_ACCOUNT_EVENTS.c.seq)).mappings()]
        users = [{"username": row["username"], "facts": accountaudit.facts_of(row),
                  "account_seq": row["account_seq"]}
                 for row in conn.execute(select(_USERS).order_by(_USERS.c.username)).mappings()]
    keys = ctx.audit_keys
    stream = accountaudit.STREAM
    stream_keys = {f"{ev['key_id']}/{ev['alg']}": keys.stream_key(ev["key_id"], ev["alg"], stream)
                   for ev in events}
    doc: dict[str, Any] = {
        "format": "duban-account-export/1", "fact_fields": list(accountaudit.FACT_FIELDS),
        "events": [{k: v for k, v in ev.items() if k != "id"} for ev in events], "users": users,
        "stream_keys": {name: key.hex() for name, key in stream_keys.items() if key is not None},
    }
    if place is not None:
        log = check_log(place, database_name(ctx.engine))
        key = public_key(place)
        if log.last is not None and key is not None:
            doc["checkpoint"] = {"line": log.last, "public_key": public_pem(key).decode()}
    return doc
