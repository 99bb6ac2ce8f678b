"""Appending to the audit trail, chained by hash so that a tampered or missing event shows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from duban.models import AuditEvent, Case
from duban.services.redaction import case_identity, redact_text


def event_hash(
    *,
    prev_hash: str,
    case_id: int,
    seq: int,
    at: dt.datetime,
    actor: str,
    actor_role: str,
    action: str,
    from_state: str | None,
    to_state: str,
    reason: str,
    data: dict[str, Any],
) -> str:
    body = json.dumps(
        [case_id, seq, at.astimezone(dt.UTC).isoformat(), actor, actor_role, action, from_state,
         to_state, reason, data],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


_INSERT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def append_event(
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
) -> None:
    """Write the next event of the case in the caller's transaction.

    A Core INSERT, not an ORM object: an event is never read back or changed in the action that
    writes it, and skipping the unit of work is a measurable share of an action's cost.
    `reason_redacted` is the reason with identity cut out; when the caller has not computed it,
    it is computed here from the case's complainants.
    """
    assert case.id is not None, "flush the case before auditing it"
    data = data or {}
    if reason_redacted is None:
        reason_redacted = redact_text(reason, case_identity(session, case.id)) if reason else ""
    seq = case.audit_seq + 1
    digest = event_hash(
        prev_hash=case.audit_hash, case_id=case.id, seq=seq, at=at, actor=actor,
        actor_role=actor_role, action=action, from_state=from_state, to_state=case.state,
        reason=reason, data=data,
    )
    session.connection().execute(_INSERT, [{
        "case_id": case.id, "seq": seq, "at": at, "actor": actor, "actor_role": actor_role,
        "action": action, "from_state": from_state, "to_state": case.state, "reason": reason,
        "reason_redacted": reason_redacted, "data": data, "prev_hash": case.audit_hash, "hash": digest,
    }])
    case.audit_seq = seq
    case.audit_hash = digest


def first_broken(case: Case, events: Iterable[AuditEvent]) -> str | None:
    """Why the case's chain is broken, or None when every event is there and unaltered."""
    prev = ""
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            return f"event {expected_seq} is missing (found {event.seq})"
        digest = event_hash(
            prev_hash=prev, case_id=event.case_id, seq=event.seq, at=event.at, actor=event.actor,
            actor_role=event.actor_role, action=event.action, from_state=event.from_state,
            to_state=event.to_state, reason=event.reason, data=event.data,
        )
        if event.prev_hash != prev or event.hash != digest:
            return f"event {event.seq} ({event.action}) was altered"
        prev = event.hash
        expected_seq += 1
    if expected_seq - 1 != case.audit_seq or prev != case.audit_hash:
        return f"events after {expected_seq - 1} are missing (case has {case.audit_seq})"
    return None
