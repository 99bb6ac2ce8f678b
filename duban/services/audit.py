"""Appending to the audit trail: a keyed chain per case, each event covering the whole change.

Each event's `hash` is an HMAC (SM3, else SHA-256; `alg`) under a key outside the database
(`key_id`, duban/services/auditkeys.py) over the previous event's MAC and every field of the
event: what was done, the rows the action wrote (`rows`, duban/services/auditrows.py) and the
case's facts after it (`facts`: state, disposition, unit, deadline, counts). Someone who can
write the database but lacks the key can change nothing of this without it showing, and the
case row must equal what its last event says.

Events written before migration 0005 carry no key (`alg` empty): their plain SHA-256 chain is
still checked (`legacy_hash`), and a keyed event after them fixes them under its MAC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from duban.models import AuditEvent, Case
from duban.services.auditkeys import KeyRing, default_keyring
from duban.services.auditrows import covered_tables, take
from duban.services.driver import inserting
from duban.services.redaction import case_identity, redact_text
from duban.services.unitofwork import work_of

# The case's changing facts an event fixes, in this order (the static ones are covered by the
# registration's `rows`, config/audit.toml [tables.cases]). Fields are only ever appended: an
# event written before holds the first of them, and is compared as far as it goes (facts_like).
FIRST_FACTS = ("state", "disposition", "unit_id", "deadline_kind", "deadline_on",
               "deadline_provisional", "extension_days", "return_count", "repeat_count",
               "dispatched_at", "closed_at")
# Who may see and act on the case (delegate, office of record, commission), the unit's signing,
# the decline and review columns: rewritten in the database, they changed who sees a case or
# what its deadlines count from, and verify did not notice.
ADDED_FACTS = ("delegate_id", "record_office_id", "referred_to_id", "review_level", "decline_reason",
               "signed_by", "deadline_days", "sign_due_on", "missed_deadline_on", "signed_at",
               "replied_at", "concluded_at")
FACT_FIELDS = FIRST_FACTS + ADDED_FACTS
FACT_LAYOUTS = (len(FIRST_FACTS), len(FACT_FIELDS))  # how many fields an event's facts may hold


def _fact(value: Any) -> str:
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        if "|" in value or "%" in value:  # a name (signed_by) must not split into two fields
            return value.replace("%", "%25").replace("|", "%7C")  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def facts_of(row: Any) -> str:
    """The case's facts as the event stores them: `|`-joined (ids, codes, dates and counts only)."""
    if isinstance(row, Mapping):
        return "|".join([_fact(row.get(name)) for name in FACT_FIELDS])
    # A loaded Case: its values straight from the instance dict (the attribute descriptors cost
    # more than the rest of this function).
    loaded = row.__dict__
    return "|".join([_fact(loaded[name] if name in loaded else getattr(row, name))
                     for name in FACT_FIELDS])


def facts_like(row: Any, facts: str) -> str:
    """The row's facts as far as the event's `facts` go (one written before fields were added
    holds fewer): what the row must equal."""
    now = facts_of(row)
    count = facts.count("|") + 1
    return now if count >= len(FACT_FIELDS) else "|".join(now.split("|")[:count])


def split_facts(facts: str) -> dict[str, str]:
    values = facts.split("|")
    return dict(zip(FACT_FIELDS, values, strict=False)) if len(values) in FACT_LAYOUTS else {}


# The canonical JSON of the MAC'd message (sorted keys, no spaces, UTF-8 as is), built once: the
# encoder json.dumps would build on every call.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
_quote = json.encoder.encode_basestring  # what _CANONICAL quotes a str with (C when available)


def canonical_data(data: Any) -> str:
    """An event's `data` as its MAC'd message holds it."""
    return _CANONICAL.encode(data)


def utc_iso(at: dt.datetime) -> str:
    """A time as the MAC'd message holds it."""
    return at.astimezone(dt.UTC).isoformat()


def message(*, prev_hash: str, alg: str, key_id: str, case_id: int, seq: int, at: dt.datetime,
            actor: str, actor_role: str, action: str, from_state: str | None, to_state: str,
            reason: str, data: Mapping[str, Any], facts: str, rows: str) -> bytes:
    """The bytes an event's MAC is taken over: every field, the algorithm and key id included."""
    return message_of(prev_hash, alg, key_id, case_id, seq, utc_iso(at), actor, actor_role, action,
                      from_state, to_state, reason, canonical_data(data), facts, rows)


def message_of(prev_hash: Any, alg: Any, key_id: Any, case_id: Any, seq: Any, at: str, actor: Any,
               actor_role: Any, action: Any, from_state: Any, to_state: Any, reason: Any, data: str,
               facts: Any, rows: Any) -> bytes:
    """`message` from the time and `data` already in their canonical text (verify has them so).

    The JSON array json.dumps would make, assembled field by field: each str quoted as the
    encoder quotes it, each int as it writes it. A value of any other type (a field rewritten
    in the database to another type) goes through the encoder itself, so the bytes are always
    the canonical ones.
    """
    if type(case_id) is int and type(seq) is int:
        q = _quote  # raises TypeError for anything but a str
        try:
            return (f"[{q(prev_hash)},{q(alg)},{q(key_id)},{case_id},{seq},{q(at)},{q(actor)},"
                    f"{q(actor_role)},{q(action)},{'null' if from_state is None else q(from_state)},"
                    f"{q(to_state)},{q(reason)},{data},{q(facts)},{q(rows)}]").encode()
        except TypeError:
            pass
    head = _CANONICAL.encode([prev_hash, alg, key_id, case_id, seq, at, actor, actor_role, action,
                              from_state, to_state, reason])
    tail = _CANONICAL.encode([facts, rows])
    return f"{head[:-1]},{data},{tail[1:]}".encode()


def mac(case_key: bytes, alg: str, body: bytes) -> str:
    return hmac.new(case_key, body, alg).hexdigest()


def legacy_hash(*, prev_hash: str, case_id: int, seq: int, at: dt.datetime, actor: str,
                actor_role: str, action: str, from_state: str | None, to_state: str, reason: str,
                data: dict[str, Any]) -> str:
    """The unkeyed SHA-256 chain of events written before migration 0005."""
    body = json.dumps(
        [case_id, seq, at.astimezone(dt.UTC).isoformat(), actor, actor_role, action, from_state,
         to_state, reason, data],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
EVENT_COLUMNS = [c.name for c in _EVENTS.c if c.name != "id"]
INSERT_EVENT = inserting(_EVENTS, EVENT_COLUMNS, returning_id=False)


def keys_of(session: Session) -> KeyRing:
    work = getattr(session, "work", None)  # a plain session (a test, a tool): the default keys
    keys = work.keys if work is not None else None
    return keys if keys is not None else default_keyring()


def seal(keys: KeyRing, *, prev_hash: str, case_id: int, seq: int, at: dt.datetime, actor: str,
         actor_role: str, action: str, from_state: str | None, to_state: str, reason: str,
         data: Mapping[str, Any], facts: str, rows: str) -> tuple[str, str, str]:
    """(alg, key id, MAC) of a new event under the current key."""
    alg, kid = keys.alg, keys.current
    case_key = keys.case_key(kid, alg, case_id)
    assert case_key is not None
    body = message(prev_hash=prev_hash, alg=alg, key_id=kid, case_id=case_id, seq=seq, at=at,
                   actor=actor, actor_role=actor_role, action=action, from_state=from_state,
                   to_state=to_state, reason=reason, data=data, facts=facts, rows=rows)
    return alg, kid, mac(case_key, alg, body)


def append_event(session: Session, case: Case, **event: Any) -> None:
    """The next event of the case (`event_row`'s arguments), written at commit beside its case
    row (persist.save_tracked)."""
    work_of(session).events.append(event_row(session, case, **event))


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write events made by `event_row` at once (a batch of registrations, whose cases go in
    already sealed)."""
    if len(rows) == 1:
        INSERT_EVENT.run(session, rows[0])
    elif rows:
        INSERT_EVENT.run_many(session, rows)


def event_row(
    session: Session,
    case: Case,
    *,
    at: dt.datetime,
    actor: str,
    actor_role: str,
    action: str,
    from_state: str | None,
    reason: str = "",
    reason_redacted: str | None = None,
    data: dict[str, Any] | None = None,
    registered: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The next event of the case, sealed, as the row to insert; the case moves on to it.

    Written at commit with the case row it fixes (persist.save_tracked: on PostgreSQL one
    statement for both), never read back or changed in the action that writes it. The rows
    the action wrote so far (auditrows.cover) and, at registration, the case's own facts are
    named in it. `reason_redacted` is the reason with identity cut out (not sealed: the rules
    that cut it may change); when the caller has not computed it, it is computed here.
    `registered`: at registration, the case row's covered values when the caller has them
    (the importer, digested: auditrows.digested_parts).
    """
    assert case.id is not None, "flush the case before auditing it"
    keys = keys_of(session)
    data = data or {}
    if reason_redacted is None:
        reason_redacted = redact_text(reason, case_identity(session, case.id)) if reason else ""
    seq = case.audit_seq + 1
    also = []
    if from_state is None:  # registration: the case row's fixed facts
        covered = covered_tables()["cases"]
        also.append((covered, registered if registered is not None else
                     {name: getattr(case, name) for name in covered.columns}, case.id))
    refs = take(session, case.id, keys.alg, also)
    rows = json.dumps(refs, ensure_ascii=False, separators=(",", ":")) if refs else ""
    facts = facts_of(case)
    alg, kid, digest = seal(keys, prev_hash=case.audit_hash, case_id=case.id, seq=seq, at=at,
                            actor=actor, actor_role=actor_role, action=action, from_state=from_state,
                            to_state=case.state, reason=reason, data=data, facts=facts, rows=rows)
    row = {
        "case_id": case.id, "seq": seq, "at": at, "actor": actor, "actor_role": actor_role,
        "action": action, "from_state": from_state, "to_state": case.state, "reason": reason,
        "reason_redacted": reason_redacted, "data": data, "prev_hash": case.audit_hash,
        "hash": digest, "alg": alg, "key_id": kid, "facts": facts, "rows": rows,
    }
    case.audit_seq = seq
    case.audit_hash = digest
    return row
